<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>AnswerDialog</name>
    <message>
        <source>Approve the request</source>
        <translation>同意申请</translation>
    </message>
    <message>
        <source>&amp;Conditions (optional):</source>
        <translation>共享条件（可不填）(&amp;C)：</translation>
    </message>
    <message>
        <source>Refuse the request</source>
        <translation>拒绝申请</translation>
    </message>
    <message>
        <source>&amp;Reason (required):</source>
        <translation>理由（必填）(&amp;R)：</translation>
    </message>
    <message>
        <source>Escalate the refusal</source>
        <translation>申请协调</translation>
    </message>
    <message>
        <source>&amp;Why the data is still needed (required):</source>
        <translation>仍需该数据的理由（必填）(&amp;W)：</translation>
    </message>
    <message>
        <source>Withdraw the request</source>
        <translation>撤回申请</translation>
    </message>
    <message>
        <source>Approve the request of %3 for %1 (purpose: %2). The answer is signed with your key and sent at the next sync.</source>
        <translation>同意%3对 %1 的申请（用途：%2）。答复以您的密钥签名，在下次同步时发送。</translation>
    </message>
    <message>
        <source>Refuse the request of %3 for %1 (purpose: %2). The requesting department may escalate the refusal to the data authority.</source>
        <translation>拒绝%3对 %1 的申请（用途：%2）。申请部门可以就拒绝向政务数据主管部门申请协调。</translation>
    </message>
    <message>
        <source>Ask the data authority to settle the refusal of %1 by %3 (purpose: %2).</source>
        <translation>请政务数据主管部门协调%3对 %1 的拒绝（用途：%2）。</translation>
    </message>
    <message>
        <source>Withdraw the request to %3 for %1 (purpose: %2) before it is answered.</source>
        <translation>在答复之前撤回向%3提出的对 %1 的申请（用途：%2）。</translation>
    </message>
    <message>
        <source>&amp;Reason (optional):</source>
        <translation>理由（可不填）(&amp;R)：</translation>
    </message>
    <message>
        <source>&amp;Sign</source>
        <translation>签名(&amp;S)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>BulkEditDialog</name>
    <message>
        <source>Bulk edit</source>
        <translation>批量修改</translation>
    </message>
    <message numerus="yes">
        <source>Set one field to the same value on all %n selected entries. The change is one step: one undo takes it back on every entry.</source>
        <translation>
            <numerusform>将所选 %n 个条目的某一字段统一设为同一个值。本次修改是一步操作：撤销一次即可在所有条目上还原。</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Field:</source>
        <translation>字段(&amp;F)：</translation>
    </message>
    <message>
        <source>&amp;Value:</source>
        <translation>取值(&amp;V)：</translation>
    </message>
    <message>
        <source>Field to set</source>
        <translation>要设置的字段</translation>
    </message>
    <message>
        <source>New value</source>
        <translation>新值</translation>
    </message>
    <message>
        <source>New classification code</source>
        <translation>新的信息资源分类代码</translation>
    </message>
    <message>
        <source>e.g. 202003</source>
        <translation>例如：202003</translation>
    </message>
    <message>
        <source>Reason for the change</source>
        <translation>修改原因</translation>
    </message>
    <message>
        <source>&amp;Apply to all</source>
        <translation>全部应用(&amp;A)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message numerus="yes">
        <source>&amp;Reason (required: %n entries become more restrictive; it is recorded with the change):</source>
        <translation>
            <numerusform>原因（必填：%n 个条目的属性将更加严格；原因将随本次修改一并记录）(&amp;R)：</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Reason (optional, recorded with the change):</source>
        <translation>原因（选填，将随本次修改一并记录）(&amp;R)：</translation>
    </message>
    <message>
        <source>The selected entries could not be read: %1</source>
        <translation>无法读取所选条目：%1</translation>
    </message>
    <message>
        <source>Reading the selected entries…</source>
        <translation>正在读取所选条目…</translation>
    </message>
    <message>
        <source>Enter a valid value.</source>
        <translation>请输入有效的值。</translation>
    </message>
    <message numerus="yes">
        <source>%n entries will change.</source>
        <translation>
            <numerusform>将修改 %n 个条目。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n already have this value.</source>
        <translation>
            <numerusform>%n 个条目已是该值。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n no longer exist.</source>
        <translation>
            <numerusform>%n 个条目已不存在。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n of them become more restrictive: a reason is required.</source>
        <translation>
            <numerusform>其中 %n 个条目将变得更加严格，须填写原因。</numerusform>
        </translation>
    </message>
    <message>
        <source>What the change would do could not be checked: %1</source>
        <translation>无法检查本次修改的影响：%1</translation>
    </message>
    <message>
        <source>Checking what the change would do…</source>
        <translation>正在检查本次修改的影响…</translation>
    </message>
    <message>
        <source>No new problems.</source>
        <translation>不会产生新的问题。</translation>
    </message>
    <message numerus="yes">
        <source>%n entries would get this error: %1</source>
        <translation>
            <numerusform>%n 个条目将出现错误：%1</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n entries would get errors such as: %1</source>
        <translation>
            <numerusform>%n 个条目将出现此类错误，例如：%1</numerusform>
        </translation>
    </message>
    <message>
        <source>Class (1 digit: 1, 2 or 3) + item (2 digits) + group (3 digits) + optional sub-group.</source>
        <translation>类（1 位：1、2 或 3）+ 项（2 位）+ 目（3 位）+ 细目（可选）。</translation>
    </message>
    <message>
        <source>Incomplete: at least 6 digits are needed.</source>
        <translation>代码不完整：至少需要 6 位数字。</translation>
    </message>
    <message numerus="yes">
        <source>Set %1 on %n entries</source>
        <translation>
            <numerusform>批量设置 %n 个条目的%1</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>CatalogueModel</name>
    <message>
        <source>Resource code</source>
        <translation>信息资源代码</translation>
    </message>
    <message>
        <source>Resource name</source>
        <translation>信息资源名称</translation>
    </message>
    <message>
        <source>Sharing</source>
        <translation>共享类型</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>开放属性</translation>
    </message>
    <message>
        <source>Update frequency</source>
        <translation>更新周期</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Changed</source>
        <translation>已修改</translation>
    </message>
    <message>
        <source>Classification</source>
        <translation>信息资源分类</translation>
    </message>
    <message>
        <source>Last changed</source>
        <translation>最后修改</translation>
    </message>
    <message numerus="yes">
        <source>%n problem(s), %1 error(s)</source>
        <translation>
            <numerusform>%n 个问题，其中 %1 个错误</numerusform>
        </translation>
    </message>
    <message>
        <source>Changed since the last sync</source>
        <translation>上次同步后已修改</translation>
    </message>
    <message>
        <source>Retired</source>
        <translation>已停用</translation>
    </message>
</context>
<context>
    <name>CatalogueView</name>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>Copy resource &amp;code</source>
        <translation>复制信息资源代码(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Fit column widths to their contents</source>
        <translation>按内容调整列宽(&amp;F)</translation>
    </message>
</context>
<context>
    <name>ChangeDescriber</name>
    <message>
        <source>Whole entry</source>
        <translation>整个条目</translation>
    </message>
    <message>
        <source>Data item “%1”</source>
        <translation>信息项“%1”</translation>
    </message>
    <message>
        <source>Data item “%1”: %2</source>
        <translation>信息项“%1”：%2</translation>
    </message>
    <message>
        <source>(did not exist)</source>
        <translation>（不存在）</translation>
    </message>
    <message>
        <source>Existed</source>
        <translation>存在</translation>
    </message>
    <message>
        <source>(no such data item)</source>
        <translation>（无此信息项）</translation>
    </message>
    <message>
        <source>Present</source>
        <translation>存在</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>已新建</translation>
    </message>
    <message>
        <source>Erased</source>
        <translation>已删除</translation>
    </message>
    <message>
        <source>Added</source>
        <translation>已添加</translation>
    </message>
    <message>
        <source>Removed</source>
        <translation>已移除</translation>
    </message>
    <message>
        <source>(as the entry)</source>
        <translation>（同条目）</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
</context>
<context>
    <name>ClassificationTree</name>
    <message>
        <source>Classification</source>
        <translation>信息资源分类</translation>
    </message>
    <message>
        <source>All entries (%1)</source>
        <translation>全部条目（%1）</translation>
    </message>
</context>
<context>
    <name>ConflictDialog</name>
    <message>
        <source>Resolve conflicts</source>
        <translation>解决冲突</translation>
    </message>
    <message>
        <source>Another steward changed these fields too. For each field take mine or theirs, or type the merged value; Apply needs a choice for every field.</source>
        <translation>另一位管理员也修改了这些字段。请为每个字段选择保留本地或采用平台的值，或直接填写合并后的值；每个字段都作出选择后才能应用。</translation>
    </message>
    <message>
        <source>Use &amp;mine (Ctrl+M)</source>
        <translation>采用本地（Ctrl+M）(&amp;M)</translation>
    </message>
    <message>
        <source>Use &amp;theirs (Ctrl+T)</source>
        <translation>采用平台（Ctrl+T）(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Apply</source>
        <translation>应用(&amp;A)</translation>
    </message>
    <message>
        <source>Entries with conflicts</source>
        <translation>有冲突的条目</translation>
    </message>
    <message>
        <source>Conflicting fields</source>
        <translation>冲突的字段</translation>
    </message>
    <message>
        <source>Found by the sync of %1</source>
        <translation>在 %1 的同步中发现</translation>
    </message>
</context>
<context>
    <name>ConflictModel</name>
    <message>
        <source>Data item</source>
        <translation>信息项</translation>
    </message>
    <message>
        <source>Data item: %1</source>
        <translation>信息项：%1</translation>
    </message>
    <message>
        <source>(choose)</source>
        <translation>（请选择）</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>字段</translation>
    </message>
    <message>
        <source>Mine</source>
        <translation>本地</translation>
    </message>
    <message>
        <source>Merged</source>
        <translation>合并结果</translation>
    </message>
    <message>
        <source>Theirs</source>
        <translation>平台</translation>
    </message>
</context>
<context>
    <name>CrashReporter</name>
    <message>
        <source>Steward hit an unexpected error</source>
        <translation>数据资源目录管理遇到意外错误</translation>
    </message>
    <message>
        <source>Something went wrong. Your edits up to this moment are saved in the workspace.</source>
        <translation>程序运行出错。截至目前的修改均已保存在工作区中。</translation>
    </message>
    <message>
        <source>Details are in the log file:
%1

%2</source>
        <translation>详细信息已记录在日志文件中：
%1

%2</translation>
    </message>
</context>
<context>
    <name>DemoMode</name>
    <message>
        <source>Demo mode</source>
        <translation>演示模式</translation>
    </message>
    <message>
        <source>&amp;Demo</source>
        <translation>演示(&amp;D)</translation>
    </message>
    <message>
        <source>Open a &amp;second demo steward</source>
        <translation>打开第二位演示管理员(&amp;S)</translation>
    </message>
    <message>
        <source>Another steward of the same department, in a window of its own, to make a conflict</source>
        <translation>同一部门的另一位管理员，在单独的窗口中，用来制造一次冲突</translation>
    </message>
    <message>
        <source>Open the &amp;requesting department&apos;s steward</source>
        <translation>打开申请部门的目录管理员窗口(&amp;R)</translation>
    </message>
    <message>
        <source>The department that applies for this department&apos;s data, with its requests in every state (Requests ▸ My requests)</source>
        <translation>向本部门申请数据的部门，其申请处于各种状态（共享申请 ▸ 我的申请）</translation>
    </message>
    <message>
        <source>&amp;What is demo mode?</source>
        <translation>什么是演示模式(&amp;W)？</translation>
    </message>
    <message>
        <source>DEMO: local exchange, sample data</source>
        <translation>演示：本地交换平台，示例数据</translation>
    </message>
    <message>
        <source>This is a demonstration: the entries are generated samples, and the exchange runs on this computer (%1), with its data in %2. Edit an entry, sync (Ctrl+S), then open a second demo steward, change the same field there and sync both to see a conflict.</source>
        <translation>这是演示：条目是生成的示例数据，交换平台运行在本机（%1），数据保存在 %2。修改一个条目并同步（Ctrl+S），再打开第二位演示管理员，在那里修改同一字段，两边都同步后即可看到冲突。</translation>
    </message>
</context>
<context>
    <name>DepartmentLabel</name>
    <message>
        <source>%1 (%2)</source>
        <comment>a department: its name (its code)</comment>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <comment>a steward (the department&apos;s code)</comment>
        <translation>%1（%2）</translation>
    </message>
    <message>
        <source>%1 (%2, %3)</source>
        <comment>a steward (the department&apos;s name, its code)</comment>
        <translation>%1（%2，%3）</translation>
    </message>
</context>
<context>
    <name>EntryEditor</name>
    <message>
        <source>No entry selected.</source>
        <translation>未选择条目。</translation>
    </message>
    <message>
        <source>This entry no longer exists.</source>
        <translation>该条目已不存在。</translation>
    </message>
    <message>
        <source>(untitled)</source>
        <translation>（未命名）</translation>
    </message>
    <message>
        <source>Edit %1</source>
        <translation>修改%1</translation>
    </message>
    <message>
        <source>Changing %1 from “%2” to “%3” makes the entry more restrictive. Please give the reason; it is recorded with the change.</source>
        <translation>将%1由“%2”改为“%3”会使该条目的属性更加严格。请填写原因，原因将随本次修改一并记录。</translation>
    </message>
    <message>
        <source>Setting %1 to “%3” makes the entry more restrictive than the exchange has it (“%2”). Please give the reason; it is recorded with the change.</source>
        <translation>将%1设为“%3”会使该条目比交换平台上的（“%2”）更加严格。请填写原因，原因将随本次修改一并记录。</translation>
    </message>
    <message>
        <source>Basic information</source>
        <translation>基本信息</translation>
    </message>
    <message>
        <source>Sharing with other departments</source>
        <translation>共享属性（部门间共享）</translation>
    </message>
    <message>
        <source>Opening to the public</source>
        <translation>开放属性（向社会开放）</translation>
    </message>
    <message>
        <source>Data items</source>
        <translation>信息项</translation>
    </message>
    <message>
        <source>Problems</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>YYYY-MM-DD</source>
        <translation>如 2024-05-01</translation>
    </message>
    <message>
        <source>Resource codes, separated by commas</source>
        <translation>信息资源代码，多个代码用逗号分隔</translation>
    </message>
    <message>
        <source>Data items of the entry</source>
        <translation>本条目的信息项</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>Add a data item at the end</source>
        <translation>在末尾添加一个信息项</translation>
    </message>
    <message>
        <source>Remove the selected data items</source>
        <translation>移除所选信息项</translation>
    </message>
    <message>
        <source>Move the current data item up</source>
        <translation>将当前信息项上移</translation>
    </message>
    <message>
        <source>Move the current data item down</source>
        <translation>将当前信息项下移</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Export catalogue</source>
        <translation>导出目录</translation>
    </message>
    <message>
        <source>&amp;Format:</source>
        <translation>格式(&amp;F)：</translation>
    </message>
    <message>
        <source>Excel workbook in the template layout (.xlsx)</source>
        <translation>按编目模板格式的 Excel 工作簿（.xlsx）</translation>
    </message>
    <message>
        <source>CSV files in the template layout (entries and data items)</source>
        <translation>按编目模板格式的 CSV 文件（条目和信息项）</translation>
    </message>
    <message>
        <source>DCAT-AP 3.0, JSON-LD (.jsonld)</source>
        <translation>DCAT-AP 3.0，JSON-LD（.jsonld）</translation>
    </message>
    <message>
        <source>DCAT-AP 3.0, Turtle (.ttl)</source>
        <translation>DCAT-AP 3.0，Turtle（.ttl）</translation>
    </message>
    <message>
        <source>data.json, Project Open Data 1.1 (.json)</source>
        <translation>data.json，Project Open Data 1.1（.json）</translation>
    </message>
    <message>
        <source>&amp;Save to:</source>
        <translation>保存到(&amp;S)：</translation>
    </message>
    <message>
        <source>File to write</source>
        <translation>要写入的文件</translation>
    </message>
    <message>
        <source>&amp;Choose…</source>
        <translation>选择(&amp;C)…</translation>
    </message>
    <message>
        <source>Entries</source>
        <translation>导出范围</translation>
    </message>
    <message>
        <source>&amp;All entries</source>
        <translation>全部条目(&amp;A)</translation>
    </message>
    <message numerus="yes">
        <source>The %n entries the filter sho&amp;ws</source>
        <translation>
            <numerusform>筛选出的 %n 个条目(&amp;W)</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>The %n selected e&amp;ntries</source>
        <translation>
            <numerusform>选中的 %n 个条目(&amp;N)</numerusform>
        </translation>
    </message>
    <message>
        <source>Open data portal</source>
        <translation>开放数据平台</translation>
    </message>
    <message>
        <source>Portal add&amp;ress:</source>
        <translation>平台地址(&amp;R)：</translation>
    </message>
    <message>
        <source>e.g. https://data.example.gov.cn/catalogue/</source>
        <translation>如 https://data.example.gov.cn/catalogue/</translation>
    </message>
    <message>
        <source>&amp;Licence:</source>
        <translation>许可协议(&amp;L)：</translation>
    </message>
    <message>
        <source>Dataset addresses start with the portal&apos;s address; without one they are urn:uuid names. The licence is the web address of the terms the portal publishes under. Both are remembered.</source>
        <translation>数据集地址以平台地址开头；不填时使用 urn:uuid 名称。许可协议填写平台发布数据所依据条款的网址。两项都会被记住。</translation>
    </message>
    <message>
        <source>&amp;Export</source>
        <translation>导出(&amp;E)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Only entries open to the public are exported: active, with the open attribute 无条件开放 or 有条件开放. Data items that are not open are not named.</source>
        <translation>只导出向社会开放的条目：有效、开放属性为无条件开放或有条件开放的条目。不开放的信息项不会出现。</translation>
    </message>
    <message>
        <source>Two files, in UTF-8 as Excel opens it: the entries, and the data items beside them (name_信息项.csv). Entries without a resource code are left out.</source>
        <translation>两个文件，采用 Excel 能直接打开的 UTF-8 编码：条目文件，以及同目录下的信息项文件（文件名_信息项.csv）。没有信息资源代码的条目不导出。</translation>
    </message>
    <message>
        <source>The template&apos;s two sheets and its guide; import gives the same catalogue back. Entries without a resource code are left out.</source>
        <translation>包含编目模板的两张表和填写说明；再次导入可得到相同的目录。没有信息资源代码的条目不导出。</translation>
    </message>
    <message>
        <source>Files (*%1)</source>
        <translation>文件（*%1）</translation>
    </message>
    <message>
        <source>Replace the file?</source>
        <translation>替换文件？</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>%1 already exists in %2. Replace it with this export?</source>
        <translation>%2 中已有 %1。要用本次导出替换吗？</translation>
    </message>
    <message>
        <source>&amp;Replace</source>
        <translation>替换(&amp;R)</translation>
    </message>
    <message>
        <source>Exporting the catalogue</source>
        <translation>正在导出目录</translation>
    </message>
    <message>
        <source>The export was cancelled; no file was written.</source>
        <translation>已取消导出，没有写入任何文件。</translation>
    </message>
</context>
<context>
    <name>FilePage</name>
    <message>
        <source>Choose the file to import</source>
        <translation>选择要导入的文件</translation>
    </message>
    <message>
        <source>An Excel workbook (.xlsx) in the catalogue template&apos;s layout, or CSV files: one of entries and, optionally, one of data items (UTF-8 or GBK, detected). Columns may come in any order; local words such as 按需共享 or 非开放 are understood. Entries whose resource code is already in the workspace are updated. Nothing changes until you finish the wizard.</source>
        <translation>按编目模板格式填写的 Excel 工作簿（.xlsx），或 CSV 文件：一个条目文件，可再加一个信息项文件（UTF-8 或 GBK 编码，自动识别）。列的先后不限；按需共享、非开放等本地用语都能识别。信息资源代码已在工作区中的条目将被更新。完成向导之前不会做任何修改。</translation>
    </message>
    <message>
        <source>&amp;Files:</source>
        <translation>文件(&amp;F)：</translation>
    </message>
    <message>
        <source>Files to import</source>
        <translation>要导入的文件</translation>
    </message>
    <message>
        <source>&amp;Choose…</source>
        <translation>选择(&amp;C)…</translation>
    </message>
    <message>
        <source>Save a blank &amp;template…</source>
        <translation>保存空白编目模板(&amp;T)…</translation>
    </message>
    <message>
        <source>The catalogue template, with drop-down lists and a guide</source>
        <translation>编目模板，带下拉列表和填写说明</translation>
    </message>
    <message>
        <source>Import catalogue</source>
        <translation>导入目录</translation>
    </message>
    <message>
        <source>Catalogue files (*.xlsx *.csv *.txt);;Excel workbooks (*.xlsx);;CSV files (*.csv *.txt)</source>
        <translation>目录文件 (*.xlsx *.csv *.txt);;Excel 工作簿 (*.xlsx);;CSV 文件 (*.csv *.txt)</translation>
    </message>
    <message>
        <source>Save a blank catalogue template</source>
        <translation>保存空白编目模板</translation>
    </message>
    <message>
        <source>Excel workbooks (*.xlsx)</source>
        <translation>Excel 工作簿 (*.xlsx)</translation>
    </message>
</context>
<context>
    <name>FilterPanel</name>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Has problems</source>
        <translation>存在问题</translation>
    </message>
    <message>
        <source>Changed since last sync</source>
        <translation>上次同步后有修改</translation>
    </message>
    <message>
        <source>Hide retired entries</source>
        <translation>隐藏已停用的条目</translation>
    </message>
</context>
<context>
    <name>FirstStartDialog</name>
    <message>
        <source>Welcome to Steward</source>
        <translation>欢迎使用数据资源目录管理</translation>
    </message>
    <message>
        <source>There is no workspace on this computer yet. A workspace holds your department&apos;s catalogue entries. How would you like to start?</source>
        <translation>本机尚无工作区。工作区用于保存本部门的目录条目。请选择开始方式：</translation>
    </message>
    <message>
        <source>C&amp;reate a workspace for my department</source>
        <translation>为本部门新建工作区(&amp;R)</translation>
    </message>
    <message>
        <source>Open the &amp;sample workspace (to try Steward out)</source>
        <translation>打开示例工作区（用于试用）(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Open an existing workspace folder</source>
        <translation>打开已有的工作区文件夹(&amp;O)</translation>
    </message>
    <message>
        <source>Department &amp;name:</source>
        <translation>部门名称(&amp;N)：</translation>
    </message>
    <message>
        <source>Department name</source>
        <translation>部门名称</translation>
    </message>
    <message>
        <source>e.g. 上海市市场监督管理局</source>
        <translation>例如：上海市市场监督管理局</translation>
    </message>
    <message>
        <source>Unified social credit &amp;code:</source>
        <translation>统一社会信用代码(&amp;C)：</translation>
    </message>
    <message>
        <source>Unified social credit code of the department</source>
        <translation>部门的统一社会信用代码</translation>
    </message>
    <message>
        <source>18 characters, e.g. 11310000MB2F41826X</source>
        <translation>18 位，例如：11310000MB2F41826X</translation>
    </message>
    <message>
        <source>&amp;Folder:</source>
        <translation>文件夹(&amp;F)：</translation>
    </message>
    <message>
        <source>Folder of the new workspace</source>
        <translation>新工作区的文件夹</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>浏览(&amp;B)…</translation>
    </message>
    <message>
        <source>Choose the folder of the new workspace</source>
        <translation>选择新工作区的文件夹</translation>
    </message>
    <message>
        <source>A made-up department with %1 generated entries, kept in %2. Creating it takes a moment.</source>
        <translation>一个虚构的部门，含 %1 个自动生成的条目，保存在 %2。创建需要一点时间。</translation>
    </message>
    <message>
        <source>Fol&amp;der:</source>
        <translation>文件夹(&amp;D)：</translation>
    </message>
    <message>
        <source>Folder of the existing workspace</source>
        <translation>已有工作区的文件夹</translation>
    </message>
    <message>
        <source>Bro&amp;wse…</source>
        <translation>浏览(&amp;W)…</translation>
    </message>
    <message>
        <source>Choose the folder of the existing workspace</source>
        <translation>选择已有工作区的文件夹</translation>
    </message>
    <message>
        <source>&amp;Join with a profile from the exchange&apos;s administrator</source>
        <translation>用交换平台管理员提供的接入配置文件加入(&amp;J)</translation>
    </message>
    <message>
        <source>&amp;Profile:</source>
        <translation>接入配置(&amp;P)：</translation>
    </message>
    <message>
        <source>Profile file</source>
        <translation>接入配置文件</translation>
    </message>
    <message>
        <source>the .steward-profile file</source>
        <translation>管理员提供的接入配置文件</translation>
    </message>
    <message>
        <source>Choos&amp;e…</source>
        <translation>选择(&amp;E)…</translation>
    </message>
    <message>
        <source>Choose the profile file</source>
        <translation>选择接入配置文件</translation>
    </message>
    <message>
        <source>Fo&amp;lder:</source>
        <translation>文件夹(&amp;L)：</translation>
    </message>
    <message>
        <source>&amp;Key passphrase:</source>
        <translation>密钥口令(&amp;K)：</translation>
    </message>
    <message>
        <source>Passphrase that protects the signing key</source>
        <translation>保护签名密钥的口令</translation>
    </message>
    <message>
        <source>no keyring here: 8 characters or more</source>
        <translation>本机没有密钥环：至少 8 个字符</translation>
    </message>
    <message>
        <source>Con&amp;tinue</source>
        <translation>继续(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Required: the 18-character code on the department&apos;s certificate.</source>
        <translation>必填：部门统一社会信用代码证书上的 18 位代码。</translation>
    </message>
    <message>
        <source>A unified social credit code has 18 characters; %1 typed.</source>
        <translation>统一社会信用代码应为 18 位，当前已输入 %1 位。</translation>
    </message>
    <message>
        <source>Valid, though codes of government organs usually start with 11.</source>
        <translation>代码有效，但机关单位的代码通常以 11 开头。</translation>
    </message>
    <message>
        <source>Open profile</source>
        <translation>打开接入配置</translation>
    </message>
    <message>
        <source>Profiles (*.steward-profile);;All files (*)</source>
        <translation>接入配置文件 (*.steward-profile);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Joining was cancelled. Continuing with the same profile and folder goes on where it stopped.</source>
        <translation>已取消加入。用同一接入配置文件和文件夹再次继续，会从中断处接着进行。</translation>
    </message>
    <message>
        <source>The workspace could not be prepared.</source>
        <translation>无法准备工作区。</translation>
    </message>
    <message>
        <source>Choose the folder of the workspace.</source>
        <translation>请选择工作区所在的文件夹。</translation>
    </message>
    <message>
        <source>Choose the profile, the folder, and a passphrase of 8 characters or more.</source>
        <translation>请选择接入配置文件和文件夹，并设置至少 8 个字符的口令。</translation>
    </message>
    <message>
        <source>Choose the folder of the new workspace.</source>
        <translation>请选择新工作区的文件夹。</translation>
    </message>
    <message>
        <source>Creating the workspace…</source>
        <translation>正在创建工作区…</translation>
    </message>
    <message>
        <source>Joining the exchange…</source>
        <translation>正在加入交换平台…</translation>
    </message>
    <message>
        <source>Preparing the sample workspace…</source>
        <translation>正在准备示例工作区…</translation>
    </message>
    <message>
        <source>Opening the workspace…</source>
        <translation>正在打开工作区…</translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>Entry history</source>
        <translation>条目历史</translation>
    </message>
    <message>
        <source>Earlier versions of the entry</source>
        <translation>条目的历史版本</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>The history could not be read: %1</source>
        <translation>无法读取历史记录：%1</translation>
    </message>
    <message>
        <source>Reading the history…</source>
        <translation>正在读取历史记录…</translation>
    </message>
    <message>
        <source>History of %1</source>
        <translation>%1 的历史记录</translation>
    </message>
    <message>
        <source>%1: nothing recorded yet.</source>
        <translation>%1：尚无记录。</translation>
    </message>
    <message numerus="yes">
        <source>%1: %n edit(s) recorded, newest first.</source>
        <translation>
            <numerusform>%1：共 %n 次修改记录，最新的在前。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>HistoryModel</name>
    <message>
        <source>Revision</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Author</source>
        <translation>修改人</translation>
    </message>
    <message>
        <source>What changed</source>
        <translation>修改内容</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>修改前</translation>
    </message>
    <message>
        <source>After</source>
        <translation>修改后</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>r%1</source>
        <translation>第 %1 版</translation>
    </message>
    <message>
        <source>%1 (department %2)</source>
        <translation>%1（部门 %2）</translation>
    </message>
    <message>
        <source>Settled with the exchange</source>
        <translation>已与平台对齐</translation>
    </message>
    <message>
        <source>Merged: the exchange had the same value</source>
        <translation>已合并：平台已有相同的值</translation>
    </message>
    <message>
        <source>Superseded: the exchange kept %1</source>
        <translation>已被取代：平台保留了 %1</translation>
    </message>
    <message>
        <source>Synced</source>
        <translation>已同步</translation>
    </message>
    <message>
        <source>Local, not synced</source>
        <translation>本地修改，未同步</translation>
    </message>
    <message numerus="yes">
        <source>%n fields changed</source>
        <translation>
            <numerusform>修改了 %n 个字段</numerusform>
        </translation>
    </message>
    <message>
        <source>From the exchange, signature verified</source>
        <translation>来自交换平台，签名已验证</translation>
    </message>
    <message>
        <source>From the exchange, signature NOT verified</source>
        <translation>来自交换平台，签名未验证</translation>
    </message>
    <message>
        <source>(undo of an earlier change)</source>
        <translation>（撤销先前的修改）</translation>
    </message>
</context>
<context>
    <name>ImportResultDialog</name>
    <message>
        <source>Import finished</source>
        <translation>导入完成</translation>
    </message>
    <message>
        <source>Imported %1.</source>
        <translation>已导入 %1。</translation>
    </message>
    <message numerus="yes">
        <source>%n entries created, </source>
        <translation>
            <numerusform>新建 %n 个条目，</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n updated, </source>
        <translation>
            <numerusform>更新 %n 个，</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n unchanged.</source>
        <translation>
            <numerusform>%n 个无变化。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n entries with errors were not imported.</source>
        <translation>
            <numerusform>%n 个有错误的条目未导入。</numerusform>
        </translation>
    </message>
    <message>
        <source>The rows not imported are saved with their reasons, to fix and import again, in:</source>
        <translation>未导入的行及其原因已保存，修改后可再次导入，位置：</translation>
    </message>
    <message>
        <source>&amp;Open folder</source>
        <translation>打开所在文件夹(&amp;O)</translation>
    </message>
    <message>
        <source>Problems found (%1):</source>
        <translation>发现的问题（%1 个）：</translation>
    </message>
    <message>
        <source>Problems found in the file</source>
        <translation>文件中发现的问题</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>ImportWizard</name>
    <message>
        <source>Import catalogue</source>
        <translation>导入目录</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>导入(&amp;I)</translation>
    </message>
    <message>
        <source>Reading was cancelled. Go back and choose the file again to retry.</source>
        <translation>已取消读取。请返回上一步重新选择文件后再试。</translation>
    </message>
    <message>
        <source>The file cannot be imported as it is laid out:</source>
        <translation>文件的格式无法导入：</translation>
    </message>
    <message>
        <source>Problems (%1)</source>
        <translation>问题（%1）</translation>
    </message>
    <message>
        <source>Import %1</source>
        <translation>导入 %1</translation>
    </message>
    <message>
        <source>Saving the rows not imported</source>
        <translation>正在保存未导入的行</translation>
    </message>
</context>
<context>
    <name>ItemsModel</name>
    <message>
        <source>Add data item</source>
        <translation>添加信息项</translation>
    </message>
    <message numerus="yes">
        <source>Remove %n data item(s)</source>
        <translation>
            <numerusform>移除 %n 个信息项</numerusform>
        </translation>
    </message>
    <message>
        <source>Move data item</source>
        <translation>移动信息项</translation>
    </message>
    <message>
        <source>The data items changed meanwhile; look again and repeat the edit.</source>
        <translation>信息项已在此期间发生变化，请重新查看后再次修改。</translation>
    </message>
    <message>
        <source>Changing %1 of data item %2 from “%3” to “%4” makes it more restrictive. Please give the reason; it is recorded with the change.</source>
        <translation>将第%2个信息项的%1由“%3”改为“%4”会使其更加严格。请填写原因，原因将随本次修改一并记录。</translation>
    </message>
    <message>
        <source>Edit %1 of data item %2</source>
        <translation>修改第 %2 个信息项的%1</translation>
    </message>
</context>
<context>
    <name>LengthDelegate</name>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>%1 (read-only)</source>
        <translation>%1（只读）</translation>
    </message>
    <message>
        <source>Read-only: entries can be read, searched and exported, not changed</source>
        <translation>只读：可以查看、搜索和导出条目，不能修改</translation>
    </message>
    <message>
        <source>Search name, code, abstract, data items (Ctrl+F)</source>
        <translation>搜索名称、代码、摘要、信息项（Ctrl+F）</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <source>Catalogue entries</source>
        <translation>目录条目</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Sync</source>
        <translation>同步(&amp;S)</translation>
    </message>
    <message>
        <source>Re&amp;quests</source>
        <translation>共享申请(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>&amp;New entry</source>
        <translation>新建条目(&amp;N)</translation>
    </message>
    <message>
        <source>Create a new catalogue entry</source>
        <translation>新建一个目录条目</translation>
    </message>
    <message>
        <source>&amp;Duplicate entry</source>
        <translation>复制条目(&amp;D)</translation>
    </message>
    <message>
        <source>Copy the current entry as a new one</source>
        <translation>将当前条目复制为一个新条目</translation>
    </message>
    <message>
        <source>Re&amp;tire entry</source>
        <translation>停用条目(&amp;T)</translation>
    </message>
    <message>
        <source>Retire the current entry (it stays on record)</source>
        <translation>停用当前条目（条目记录仍会保留）</translation>
    </message>
    <message>
        <source>Re&amp;store entry</source>
        <translation>恢复条目(&amp;S)</translation>
    </message>
    <message>
        <source>Make a retired entry active again</source>
        <translation>重新启用已停用的条目</translation>
    </message>
    <message>
        <source>&amp;Erase entry</source>
        <translation>删除条目(&amp;E)</translation>
    </message>
    <message>
        <source>Delete an entry that was never synced</source>
        <translation>删除从未同步过的条目</translation>
    </message>
    <message>
        <source>&amp;Bulk edit…</source>
        <translation>批量修改(&amp;B)…</translation>
    </message>
    <message>
        <source>Set one field for all selected entries</source>
        <translation>为所有选中的条目统一设置某一字段</translation>
    </message>
    <message>
        <source>&amp;Find</source>
        <translation>查找(&amp;F)</translation>
    </message>
    <message>
        <source>Search the catalogue</source>
        <translation>在目录中搜索</translation>
    </message>
    <message>
        <source>&amp;Pending changes</source>
        <translation>待同步的修改(&amp;P)</translation>
    </message>
    <message>
        <source>What changed since the last sync</source>
        <translation>上次同步以来的修改</translation>
    </message>
    <message>
        <source>Entry &amp;history</source>
        <translation>条目历史(&amp;H)</translation>
    </message>
    <message>
        <source>Earlier versions of the current entry</source>
        <translation>当前条目的历史版本</translation>
    </message>
    <message>
        <source>&amp;Clear filters</source>
        <translation>清除筛选(&amp;C)</translation>
    </message>
    <message>
        <source>Show every entry again</source>
        <translation>重新显示全部条目</translation>
    </message>
    <message>
        <source>Read the catalogue again</source>
        <translation>重新读取目录</translation>
    </message>
    <message>
        <source>&amp;Reload</source>
        <translation>重新加载(&amp;R)</translation>
    </message>
    <message>
        <source>Pull other stewards&apos; changes, then send yours (Ctrl+S)</source>
        <translation>先拉取其他管理员的修改，再发送本地修改（Ctrl+S）</translation>
    </message>
    <message>
        <source>&amp;Publish preview…</source>
        <translation>发布预览(&amp;P)…</translation>
    </message>
    <message>
        <source>What the public catalogue will gain, lose and change at the next sync (Ctrl+Shift+U)</source>
        <translation>下次同步后公开目录将发布、撤下和更改哪些数据集（Ctrl+Shift+U）</translation>
    </message>
    <message>
        <source>Resolve &amp;conflicts…</source>
        <translation>解决冲突(&amp;C)…</translation>
    </message>
    <message>
        <source>Fields another steward changed as well: choose what to keep</source>
        <translation>另一位管理员也修改过的字段：选择保留哪个值</translation>
    </message>
    <message>
        <source>&amp;Apply for sharing…</source>
        <translation>申请共享(&amp;A)…</translation>
    </message>
    <message>
        <source>Ask the providing department for this entry&apos;s data</source>
        <translation>向提供部门申请共享此条目的数据</translation>
    </message>
    <message>
        <source>&amp;Inbox…</source>
        <translation>待办(&amp;I)…</translation>
    </message>
    <message>
        <source>Sharing requests waiting for your department&apos;s answer</source>
        <translation>等待本部门答复的共享申请</translation>
    </message>
    <message>
        <source>&amp;My requests…</source>
        <translation>我的申请(&amp;M)…</translation>
    </message>
    <message>
        <source>Your department&apos;s sharing requests</source>
        <translation>本部门提出的共享申请</translation>
    </message>
    <message>
        <source>Create signing &amp;key…</source>
        <translation>创建签名密钥(&amp;K)…</translation>
    </message>
    <message>
        <source>Make the key that signs this workspace&apos;s changesets</source>
        <translation>生成为本工作区变更集签名的密钥</translation>
    </message>
    <message>
        <source>&amp;Export public key…</source>
        <translation>导出公钥(&amp;E)…</translation>
    </message>
    <message>
        <source>Write the public key for enrollment at the exchange</source>
        <translation>写出公钥，供交换平台登记</translation>
    </message>
    <message>
        <source>Open &amp;profile…</source>
        <translation>打开接入配置(&amp;P)…</translation>
    </message>
    <message>
        <source>Join the exchange with the profile its administrator gave you</source>
        <translation>用管理员提供的接入配置文件加入交换平台</translation>
    </message>
    <message>
        <source>&amp;Settings…</source>
        <translation>设置(&amp;S)…</translation>
    </message>
    <message>
        <source>Language, exchange address, certificates, proxy</source>
        <translation>语言、交换平台地址、证书、代理</translation>
    </message>
    <message>
        <source>&amp;Import…</source>
        <translation>导入(&amp;I)…</translation>
    </message>
    <message>
        <source>Import entries from Excel or CSV</source>
        <translation>从 Excel 或 CSV 文件导入条目</translation>
    </message>
    <message>
        <source>E&amp;xport…</source>
        <translation>导出(&amp;X)…</translation>
    </message>
    <message>
        <source>Export as Excel, CSV, DCAT-AP or data.json</source>
        <translation>导出为 Excel、CSV、DCAT-AP 或 data.json</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Close Steward</source>
        <translation>关闭数据资源目录管理</translation>
    </message>
    <message>
        <source>&amp;About Steward</source>
        <translation>关于数据资源目录管理(&amp;A)</translation>
    </message>
    <message>
        <source>Version and licence</source>
        <translation>版本与许可协议</translation>
    </message>
    <message>
        <source>Go to &amp;table</source>
        <translation>转到表格(&amp;T)</translation>
    </message>
    <message>
        <source>Move the keyboard focus to the table</source>
        <translation>将键盘焦点移到条目表格</translation>
    </message>
    <message>
        <source>Go to &amp;editor</source>
        <translation>转到编辑区(&amp;E)</translation>
    </message>
    <message>
        <source>Move the keyboard focus to the editor</source>
        <translation>将键盘焦点移到条目编辑区</translation>
    </message>
    <message>
        <source>Go to c&amp;lassification</source>
        <translation>转到分类(&amp;L)</translation>
    </message>
    <message>
        <source>Move the focus to the tree</source>
        <translation>将焦点移到分类树</translation>
    </message>
    <message>
        <source>Workspace: %1</source>
        <translation>工作区：%1</translation>
    </message>
    <message numerus="yes">
        <source>%n entries</source>
        <translation>
            <numerusform>共 %n 个条目</numerusform>
        </translation>
    </message>
    <message>
        <source>New entry</source>
        <translation>新建条目</translation>
    </message>
    <message>
        <source> (copy)</source>
        <translation>（副本）</translation>
    </message>
    <message>
        <source>Duplicate entry</source>
        <translation>复制条目</translation>
    </message>
    <message>
        <source>Retiring keeps the entry on record but withdraws it from the catalogue.</source>
        <translation>停用后，条目记录仍会保留，但将从目录中撤下。</translation>
    </message>
    <message>
        <source>Retire entry</source>
        <translation>停用条目</translation>
    </message>
    <message>
        <source>Restore entry</source>
        <translation>恢复条目</translation>
    </message>
    <message>
        <source>Erase entry</source>
        <translation>删除条目</translation>
    </message>
    <message>
        <source>Erase this entry? Only an entry that was never synced can be erased; this can be undone.</source>
        <translation>确定要删除此条目吗？只有从未同步过的条目才能删除；删除后可以撤销。</translation>
    </message>
    <message>
        <source>Application signed; it is sent at the next sync (Ctrl+S).</source>
        <translation>申请已签名，将在下次同步时发送（Ctrl+S）。</translation>
    </message>
    <message numerus="yes">
        <source>Exported %n entries to %1</source>
        <translation>
            <numerusform>已导出 %n 个条目到 %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Export finished</source>
        <translation>导出完成</translation>
    </message>
    <message numerus="yes">
        <source>%n entries were left out because they break a catalogue rule (%1); the Problems column shows why.</source>
        <translation>
            <numerusform>%n 个条目违反目录规则，未导出（%1）；原因见“问题”列。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n entries were left out because they are not open to the public.</source>
        <translation>
            <numerusform>%n 个条目不向社会开放，未导出。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n entries were left out because they have no resource code.</source>
        <translation>
            <numerusform>%n 个条目没有资源代码，未导出。</numerusform>
        </translation>
    </message>
    <message>
        <source>About Steward</source>
        <translation>关于数据资源目录管理</translation>
    </message>
    <message>
        <source>Steward %1

Keeps a department&apos;s entries in the government data resource catalogue.</source>
        <translation>数据资源目录管理 %1

用于维护本部门在政务数据资源目录中的条目。</translation>
    </message>
    <message>
        <source>Export public key</source>
        <translation>导出公钥</translation>
    </message>
    <message>
        <source>Public key (*.json)</source>
        <translation>公钥 (*.json)</translation>
    </message>
    <message>
        <source>Public key written to %1</source>
        <translation>公钥已写入 %1</translation>
    </message>
    <message>
        <source>Open profile</source>
        <translation>打开接入配置</translation>
    </message>
    <message>
        <source>Profiles (*.steward-profile);;All files (*)</source>
        <translation>接入配置文件 (*.steward-profile);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Opening the workspace… An older one is backed up and updated first.</source>
        <translation>正在打开工作区…旧版本的工作区会先备份，再升级。</translation>
    </message>
    <message>
        <source>Approved: the exchange&apos;s administrator enrolled this workspace&apos;s key; sync (Ctrl+S) to start</source>
        <translation>已批准：交换平台管理员已登记本工作区的密钥；请同步（Ctrl+S）开始使用</translation>
    </message>
    <message>
        <source>Department: %1 (%2)</source>
        <translation>部门：%1（%2）</translation>
    </message>
    <message>
        <source>Unsynced: %1</source>
        <translation>未同步：%1</translation>
    </message>
    <message>
        <source>Last sync: %1</source>
        <translation>上次同步：%1</translation>
    </message>
    <message>
        <source>Never synced</source>
        <translation>从未同步</translation>
    </message>
    <message numerus="yes">
        <source>%n entries not sent</source>
        <translation>
            <numerusform>%n 个条目未送出</numerusform>
        </translation>
    </message>
    <message>
        <source>Changes the last sync did not send, and why</source>
        <translation>上次同步未送出的修改及原因</translation>
    </message>
    <message>
        <source>No signing key</source>
        <translation>无签名密钥</translation>
    </message>
    <message>
        <source>Key %1</source>
        <translation>密钥 %1</translation>
    </message>
    <message>
        <source>Waiting for approval: the exchange&apos;s administrator has not approved this workspace&apos;s key yet</source>
        <translation>等待批准：交换平台管理员尚未批准本工作区的密钥</translation>
    </message>
    <message>
        <source>Inbox: %1</source>
        <translation>待办：%1</translation>
    </message>
    <message>
        <source>Conflicts: %1</source>
        <translation>冲突：%1</translation>
    </message>
    <message>
        <source>Steward</source>
        <translation>数据资源目录管理</translation>
    </message>
</context>
<context>
    <name>NotSentDialog</name>
    <message>
        <source>Entries not sent</source>
        <translation>未送出的条目</translation>
    </message>
    <message>
        <source>The last sync did not send these entries&apos; changes. Deal with what is named and sync again; Enter or a double-click shows the entry.</source>
        <translation>上次同步未送出这些条目的修改。请处理所列原因后再次同步；按回车键或双击可显示该条目。</translation>
    </message>
    <message>
        <source>Resource code</source>
        <translation>信息资源代码</translation>
    </message>
    <message>
        <source>Resource name</source>
        <translation>信息资源名称</translation>
    </message>
    <message>
        <source>Why not sent</source>
        <translation>未送出的原因</translation>
    </message>
    <message>
        <source>&amp;Show entry</source>
        <translation>显示条目(&amp;S)</translation>
    </message>
</context>
<context>
    <name>OpenProfileDialog</name>
    <message>
        <source>Join with a profile</source>
        <translation>用接入配置加入</translation>
    </message>
    <message>
        <source>The profile %1 joins %2 (%3) to the exchange at %4, whose key fingerprint is:
%5</source>
        <translation>接入配置文件 %1 让 %2（%3）加入 %4 上的交换平台，该平台的密钥指纹为：
%5</translation>
    </message>
    <message>
        <source>Workspace &amp;folder:</source>
        <translation>工作区文件夹(&amp;F)：</translation>
    </message>
    <message>
        <source>Folder of the department&apos;s workspace</source>
        <translation>部门工作区所在的文件夹</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>浏览(&amp;B)…</translation>
    </message>
    <message>
        <source>Choose the folder of the department&apos;s workspace</source>
        <translation>选择部门工作区所在的文件夹</translation>
    </message>
    <message>
        <source>A new workspace is made there, with your signing key, and its enrollment request is sent; it waits for the exchange&apos;s administrator to approve it. A folder that holds this department&apos;s workspace already is used as it is.</source>
        <translation>将在该文件夹中新建工作区和您的签名密钥，并发送注册申请，等待交换平台管理员批准。若该文件夹中已有本部门的工作区，则直接使用。</translation>
    </message>
    <message>
        <source>&amp;Key passphrase:</source>
        <translation>密钥口令(&amp;K)：</translation>
    </message>
    <message>
        <source>Passphrase that protects the signing key</source>
        <translation>保护签名密钥的口令</translation>
    </message>
    <message>
        <source>no keyring here: 8 characters or more</source>
        <translation>本机没有密钥环：至少 8 个字符</translation>
    </message>
    <message>
        <source>&amp;Join</source>
        <translation>加入(&amp;J)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Joining was cancelled. Opening the profile again with the same folder continues where it stopped.</source>
        <translation>已取消加入。用同一文件夹再次打开该接入配置文件，会从中断处继续。</translation>
    </message>
    <message>
        <source>Choose the folder, and a passphrase of 8 characters or more.</source>
        <translation>请选择文件夹，并输入至少 8 个字符的口令。</translation>
    </message>
    <message>
        <source>Joining the exchange…</source>
        <translation>正在加入交换平台…</translation>
    </message>
    <message>
        <source>The exchange refused: %1</source>
        <translation>交换平台拒绝：%1</translation>
    </message>
    <message>
        <source>The folder %1 cannot be used: %2</source>
        <translation>无法使用文件夹 %1：%2</translation>
    </message>
</context>
<context>
    <name>PendingChangesDialog</name>
    <message>
        <source>Pending changes</source>
        <translation>待同步的修改</translation>
    </message>
    <message>
        <source>Changes not yet synced</source>
        <translation>尚未同步的修改</translation>
    </message>
    <message>
        <source>&amp;Show entry</source>
        <translation>显示条目(&amp;S)</translation>
    </message>
    <message>
        <source>Select this entry in the main window (Enter or double-click)</source>
        <translation>在主窗口中选中此条目（按回车键或双击）</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>The pending changes could not be read: %1</source>
        <translation>无法读取待同步的修改：%1</translation>
    </message>
    <message>
        <source>Reading the pending changes…</source>
        <translation>正在读取待同步的修改…</translation>
    </message>
    <message>
        <source>Nothing changed since the last sync.</source>
        <translation>上次同步以来没有修改。</translation>
    </message>
    <message numerus="yes">
        <source>%n change(s) not yet synced. Reverting one puts back the synced value.</source>
        <translation>
            <numerusform>%n 处修改尚未同步。还原一处修改即恢复为上次同步时的值。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>&amp;Revert %n changes</source>
        <translation>
            <numerusform>还原 %n 处修改(&amp;R)</numerusform>
        </translation>
    </message>
    <message>
        <source>&amp;Revert this change</source>
        <translation>还原此修改(&amp;R)</translation>
    </message>
    <message>
        <source>Put back the value of the last sync (Delete)</source>
        <translation>恢复为上次同步时的值（Delete）</translation>
    </message>
    <message>
        <source>Reverted an unsynced change</source>
        <translation>还原了未同步的修改</translation>
    </message>
    <message numerus="yes">
        <source>Revert %n changes</source>
        <translation>
            <numerusform>还原 %n 处修改</numerusform>
        </translation>
    </message>
    <message>
        <source>Revert %1 of %2</source>
        <translation>还原 %2 的%1</translation>
    </message>
</context>
<context>
    <name>PendingModel</name>
    <message>
        <source>Resource code</source>
        <translation>信息资源代码</translation>
    </message>
    <message>
        <source>Resource name</source>
        <translation>信息资源名称</translation>
    </message>
    <message>
        <source>What changed</source>
        <translation>修改内容</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>修改前</translation>
    </message>
    <message>
        <source>After</source>
        <translation>修改后</translation>
    </message>
    <message>
        <source>Changed at</source>
        <translation>修改时间</translation>
    </message>
</context>
<context>
    <name>PreviewModel</name>
    <message>
        <source>Action</source>
        <translation>处理</translation>
    </message>
    <message>
        <source>Resource code</source>
        <translation>信息资源代码</translation>
    </message>
    <message>
        <source>Resource name</source>
        <translation>信息资源名称</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>位置</translation>
    </message>
    <message>
        <source>New</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>Update</source>
        <translation>更新</translation>
    </message>
    <message>
        <source>Unchanged</source>
        <translation>无变化</translation>
    </message>
    <message>
        <source>Not imported</source>
        <translation>不导入</translation>
    </message>
</context>
<context>
    <name>PreviewPage</name>
    <message>
        <source>Check what the import will do</source>
        <translation>检查导入结果</translation>
    </message>
    <message>
        <source>Cancel reading</source>
        <translation>取消读取</translation>
    </message>
    <message>
        <source>Problems found in the file</source>
        <translation>文件中发现的问题</translation>
    </message>
    <message>
        <source>Entries in the file</source>
        <translation>文件中的条目</translation>
    </message>
    <message>
        <source>Import only the &amp;valid entries; save the rows with errors, with their reasons, to a workbook to fix and import again</source>
        <translation>只导入无误的条目；有错误的行连同原因另存为工作簿，改正后可再次导入(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Keep entries that only break catalogue rules: import them as drafts, not synced until fixed</source>
        <translation>保留只是不符合目录规则的条目：作为草稿导入，改正前不会同步(&amp;K)</translation>
    </message>
    <message>
        <source>Reading and checking the file…</source>
        <translation>正在读取并检查文件…</translation>
    </message>
    <message>
        <source>Problems (%1)</source>
        <translation>问题（%1）</translation>
    </message>
    <message>
        <source>Entries (%1)</source>
        <translation>条目（%1）</translation>
    </message>
    <message numerus="yes">
        <source>%n entries will be created, </source>
        <translation>
            <numerusform>将新建 %n 个条目，</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n updated, </source>
        <translation>
            <numerusform>更新 %n 个，</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n unchanged.</source>
        <translation>
            <numerusform>%n 个无变化。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n entries (with their data items) have errors and will not be imported.</source>
        <translation>
            <numerusform>%n 个条目（连同其信息项）有错误，不会导入。</numerusform>
        </translation>
    </message>
    <message>
        <source>There is nothing to change.</source>
        <translation>没有需要修改的内容。</translation>
    </message>
    <message numerus="yes">
        <source>%n entries break catalogue rules and will be imported as drafts, not synced until fixed.</source>
        <translation>
            <numerusform>%n 个条目不符合目录规则，将作为草稿导入，改正前不会同步。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n warnings: the entries are imported; see what to fix.</source>
        <translation>
            <numerusform>%n 个警告：相关条目仍会导入，请查看需要改正之处。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ProblemsModel</name>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>位置</translation>
    </message>
    <message>
        <source>Problem</source>
        <translation>问题</translation>
    </message>
    <message>
        <source>Error (kept)</source>
        <translation>错误（保留）</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>警告</translation>
    </message>
</context>
<context>
    <name>ProblemsPanel</name>
    <message>
        <source>Error: %1</source>
        <translation>错误：%1</translation>
    </message>
    <message>
        <source>Warning: %1</source>
        <translation>警告：%1</translation>
    </message>
    <message>
        <source>No problems found.</source>
        <translation>未发现问题。</translation>
    </message>
    <message>
        <source>%1 and %2. Click one, or press Enter on it, to go to its field.</source>
        <translation>%1，%2。单击某个问题或选中后按回车键，即可转到对应字段。</translation>
    </message>
    <message numerus="yes">
        <source>%n error(s)</source>
        <translation>
            <numerusform>%n 个错误</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n warning(s)</source>
        <translation>
            <numerusform>%n 个警告</numerusform>
        </translation>
    </message>
    <message>
        <source>Problems of the entry</source>
        <translation>条目的问题</translation>
    </message>
</context>
<context>
    <name>PublishPreview</name>
    <message>
        <source>This sync will publish %1 dataset(s), withdraw %2 and change %3.</source>
        <translation>本次同步将发布 %1 个数据集，撤下 %2 个，更改 %3 个。</translation>
    </message>
    <message>
        <source>This sync changes nothing the public sees.</source>
        <translation>本次同步不会改变公开的目录。</translation>
    </message>
    <message>
        <source>%1 entry(ies) would change what the public sees but will not be sent.</source>
        <translation>%1 个条目的修改会改变公开的目录，但不会发送。</translation>
    </message>
    <message>
        <source>%1 %2</source>
        <comment>two sentences</comment>
        <translation>%1%2</translation>
    </message>
</context>
<context>
    <name>PublishPreviewDialog</name>
    <message>
        <source>Publish preview</source>
        <translation>发布预览</translation>
    </message>
    <message>
        <source>What the public catalogue gains, loses and changes at the next sync</source>
        <translation>下次同步后公开目录发布、撤下和更改的数据集</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>The publish preview could not be worked out: %1</source>
        <translation>无法生成发布预览：%1</translation>
    </message>
    <message>
        <source>Working out what the next sync publishes…</source>
        <translation>正在生成发布预览…</translation>
    </message>
</context>
<context>
    <name>PublishPreviewModel</name>
    <message>
        <source>Resource code</source>
        <translation>信息资源代码</translation>
    </message>
    <message>
        <source>Resource name</source>
        <translation>信息资源名称</translation>
    </message>
    <message>
        <source>At the next sync</source>
        <translation>下次同步后</translation>
    </message>
    <message>
        <source>Public fields changed</source>
        <translation>更改的公开字段</translation>
    </message>
    <message>
        <source>; </source>
        <translation>；</translation>
    </message>
    <message>
        <source>Published</source>
        <translation>发布</translation>
    </message>
    <message>
        <source>Changed</source>
        <translation>更改</translation>
    </message>
    <message>
        <source>Withdrawn: retired</source>
        <translation>撤下：已停用</translation>
    </message>
    <message>
        <source>Withdrawn: no longer open</source>
        <translation>撤下：不再开放</translation>
    </message>
    <message>
        <source>an unresolved conflict</source>
        <translation>有未解决的冲突</translation>
    </message>
    <message>
        <source>another department named as provider</source>
        <translation>提供方不是本部门</translation>
    </message>
    <message>
        <source>rule errors</source>
        <translation>存在错误</translation>
    </message>
    <message>
        <source>Not sent: %1 (the public keeps the last synced version)</source>
        <translation>不发送：%1（公众仍看到上次同步的版本）</translation>
    </message>
    <message>
        <source>Not sent: %1 (not published)</source>
        <translation>不发送：%1（不会发布）</translation>
    </message>
    <message>
        <source>Data item “%1” joins the published schema</source>
        <translation>信息项“%1”加入公开的信息项</translation>
    </message>
    <message>
        <source>Data item “%1” leaves the published schema</source>
        <translation>信息项“%1”不再公开</translation>
    </message>
    <message>
        <source>%1 of data item “%2”</source>
        <translation>信息项“%2”的%1</translation>
    </message>
    <message>
        <source>%1: %2 → %3</source>
        <translation>%1：%2 → %3</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
</context>
<context>
    <name>ReasonDialog</name>
    <message>
        <source>Reason for the change</source>
        <translation>修改原因</translation>
    </message>
    <message>
        <source>&amp;Reason (recorded with the change):</source>
        <translation>原因（将随本次修改一并记录）(&amp;R)：</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
</context>
<context>
    <name>RequestForm</name>
    <message>
        <source>Apply for sharing</source>
        <translation>申请共享</translation>
    </message>
    <message>
        <source>Apply to %1 for “%2” (%3). The application is signed with your key and sent at the next sync; the data authority checks it, then the providing department answers.</source>
        <translation>向%1申请共享“%2”（%3）。申请以您的密钥签名，在下次同步时发送；先由政务数据主管部门审查，再由提供部门答复。</translation>
    </message>
    <message>
        <source>&amp;Purpose:</source>
        <translation>用途(&amp;P)：</translation>
    </message>
    <message>
        <source>&amp;Scenario:</source>
        <translation>应用场景(&amp;S)：</translation>
    </message>
    <message>
        <source>Data &amp;items:</source>
        <translation>信息项(&amp;I)：</translation>
    </message>
    <message>
        <source>&amp;Until:</source>
        <translation>使用期限至(&amp;U)：</translation>
    </message>
    <message>
        <source>Purpose</source>
        <translation>用途</translation>
    </message>
    <message>
        <source>Scenario</source>
        <translation>应用场景</translation>
    </message>
    <message>
        <source>Data items</source>
        <translation>信息项</translation>
    </message>
    <message>
        <source>Until</source>
        <translation>使用期限至</translation>
    </message>
    <message>
        <source>Sign and &amp;keep for the next sync</source>
        <translation>签名并留待下次同步(&amp;K)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>RequestTrailDialog</name>
    <message>
        <source>Sharing request and its signed trail</source>
        <translation>共享申请及其签名记录</translation>
    </message>
    <message>
        <source>Resource:</source>
        <translation>资源：</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <source>Departments:</source>
        <translation>部门：</translation>
    </message>
    <message>
        <source>Purpose:</source>
        <translation>用途：</translation>
    </message>
    <message>
        <source>Scenario:</source>
        <translation>应用场景：</translation>
    </message>
    <message>
        <source>Data items:</source>
        <translation>信息项：</translation>
    </message>
    <message>
        <source>Until:</source>
        <translation>使用期限至：</translation>
    </message>
    <message>
        <source>Due:</source>
        <translation>答复期限：</translation>
    </message>
    <message>
        <source>Signed trail: every step is signed by its department&apos;s steward or by the data authority, and recorded in the exchange&apos;s log.</source>
        <translation>签名记录：每一步都由相应部门的目录管理员或政务数据主管部门签名，并记入交换平台的日志。</translation>
    </message>
    <message>
        <source>No.</source>
        <translation>序号</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>步骤</translation>
    </message>
    <message>
        <source>Signed by</source>
        <translation>签名人</translation>
    </message>
    <message>
        <source>Recorded by the exchange</source>
        <translation>交换平台记录时间</translation>
    </message>
    <message>
        <source>Verified</source>
        <translation>验证</translation>
    </message>
    <message>
        <source>What it says</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>Signed trail</source>
        <translation>签名记录</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>The request could not be read: %1</source>
        <translation>无法读取该申请：%1</translation>
    </message>
    <message>
        <source>%1 asks %2</source>
        <translation>%1 向 %2 申请</translation>
    </message>
    <message>
        <source>%1 (overdue by %2 working days)</source>
        <translation>%1（已逾期 %2 个工作日）</translation>
    </message>
    <message>
        <source>%1 (%2 working days left)</source>
        <translation>%1（剩余 %2 个工作日）</translation>
    </message>
    <message>
        <source>the data authority</source>
        <translation>政务数据主管部门</translation>
    </message>
    <message>
        <source>✔ verified</source>
        <translation>✔ 已验证</translation>
    </message>
    <message>
        <source>refused: %1</source>
        <translation>被拒收：%1</translation>
    </message>
    <message>
        <source>not sent yet</source>
        <translation>尚未发送</translation>
    </message>
    <message>
        <source>passed</source>
        <translation>通过</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>未通过</translation>
    </message>
    <message>
        <source>approved</source>
        <translation>同意</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>granted</source>
        <translation>准予共享</translation>
    </message>
    <message>
        <source>denied</source>
        <translation>不予共享</translation>
    </message>
    <message>
        <source>conditions: %1</source>
        <translation>条件：%1</translation>
    </message>
    <message>
        <source>reason: %1</source>
        <translation>理由：%1</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1（%2）</translation>
    </message>
</context>
<context>
    <name>RequestsDialog</name>
    <message>
        <source>Inbox: requests to my department</source>
        <translation>待办：向本部门提出的申请</translation>
    </message>
    <message>
        <source>My requests</source>
        <translation>我的申请</translation>
    </message>
    <message>
        <source>Filter by code, department, purpose, status…</source>
        <translation>按代码、部门、用途、状态筛选…</translation>
    </message>
    <message>
        <source>Filter requests</source>
        <translation>筛选申请</translation>
    </message>
    <message>
        <source>&amp;Approve…</source>
        <translation>同意(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Refuse…</source>
        <translation>拒绝(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;Escalate…</source>
        <translation>申请协调(&amp;E)…</translation>
    </message>
    <message>
        <source>&amp;Withdraw…</source>
        <translation>撤回(&amp;W)…</translation>
    </message>
    <message>
        <source>Signed &amp;trail</source>
        <translation>签名记录(&amp;T)</translation>
    </message>
    <message>
        <source>The request and every signed step of it (Enter or double-click)</source>
        <translation>申请及其每一个签名步骤（Enter 或双击）</translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation>关闭(&amp;C)</translation>
    </message>
    <message>
        <source>The requests could not be read: %1</source>
        <translation>无法读取申请：%1</translation>
    </message>
    <message>
        <source>Reading the requests…</source>
        <translation>正在读取申请…</translation>
    </message>
    <message numerus="yes">
        <source>%n request(s) wait for your answer</source>
        <translation>
            <numerusform>%n 件申请等待您答复</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>; %n overdue</source>
        <translation>
            <numerusform>；其中 %n 件已逾期</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n request(s) made by your department</source>
        <translation>
            <numerusform>本部门共提出 %n 件申请</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>RequestsModel</name>
    <message>
        <source>Due</source>
        <translation>答复期限</translation>
    </message>
    <message>
        <source>Working days left</source>
        <translation>剩余工作日</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Resource code</source>
        <translation>资源代码</translation>
    </message>
    <message>
        <source>Requesting department</source>
        <translation>申请部门</translation>
    </message>
    <message>
        <source>Providing department</source>
        <translation>提供部门</translation>
    </message>
    <message>
        <source>Purpose</source>
        <translation>用途</translation>
    </message>
    <message>
        <source>Answered by</source>
        <translation>答复人</translation>
    </message>
    <message>
        <source>Conditions</source>
        <translation>共享条件</translation>
    </message>
    <message>
        <source>Until</source>
        <translation>使用期限至</translation>
    </message>
    <message numerus="yes">
        <source>overdue by %n working day(s)</source>
        <translation>
            <numerusform>已逾期 %n 个工作日</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n working day(s)</source>
        <translation>
            <numerusform>%n 个工作日</numerusform>
        </translation>
    </message>
    <message>
        <source>the data authority</source>
        <translation>政务数据主管部门</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1（%2）</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Follow system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>&amp;Exchange address:</source>
        <translation>交换平台地址(&amp;E)：</translation>
    </message>
    <message>
        <source>Exchange address</source>
        <translation>交换平台地址</translation>
    </message>
    <message>
        <source>https://exchange.example.gov.cn</source>
        <translation>https://exchange.example.gov.cn</translation>
    </message>
    <message>
        <source>&amp;Certificate bundle:</source>
        <translation>证书文件(&amp;C)：</translation>
    </message>
    <message>
        <source>Certificate bundle file</source>
        <translation>证书文件</translation>
    </message>
    <message>
        <source>Only for a private certificate authority</source>
        <translation>仅在使用私有证书颁发机构（CA）时填写</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>选择(&amp;H)…</translation>
    </message>
    <message>
        <source>Choose the certificate bundle file</source>
        <translation>选择证书文件</translation>
    </message>
    <message>
        <source>&amp;Proxy:</source>
        <translation>代理服务器(&amp;P)：</translation>
    </message>
    <message>
        <source>Proxy</source>
        <translation>代理服务器</translation>
    </message>
    <message>
        <source>http://proxy.example.gov.cn:8080 (empty: none)</source>
        <translation>http://proxy.example.gov.cn:8080（留空表示不使用代理）</translation>
    </message>
    <message>
        <source>With a login: http://user:password@host:port. The password is kept in the system&apos;s keyring, not in the settings.</source>
        <translation>需要登录时：http://用户名:密码@主机:端口。密码保存在系统密钥环中，不写入设置。</translation>
    </message>
    <message>
        <source>Waiting:</source>
        <translation>等待时限：</translation>
    </message>
    <message>
        <source>co&amp;nnect</source>
        <translation>连接(&amp;N)</translation>
    </message>
    <message>
        <source>each &amp;answer</source>
        <translation>每次应答(&amp;A)</translation>
    </message>
    <message>
        <source>whole s&amp;ync</source>
        <translation>整次同步(&amp;Y)</translation>
    </message>
    <message>
        <source>Seconds to wait for a connection</source>
        <translation>等待连接的秒数</translation>
    </message>
    <message>
        <source>Seconds to wait for each answer of the exchange</source>
        <translation>等待交换平台每次应答的秒数</translation>
    </message>
    <message>
        <source>Seconds a whole sync may take before it stops</source>
        <translation>整次同步最多可用的秒数</translation>
    </message>
    <message>
        <source>A sync that takes longer stops; what it finished is kept and the next sync continues.</source>
        <translation>超过此时限的同步会停止；已完成的部分会保留，下次同步继续。</translation>
    </message>
    <message>
        <source> s</source>
        <translation> 秒</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>确定</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Enter the address as http://host or https://host, with :port if needed.</source>
        <translation>请按 http://主机 或 https://主机 的格式填写地址，需要时加上端口（如 https://主机:8443）。</translation>
    </message>
    <message>
        <source>Enter the proxy as http://host:port (with a login: http://user:password@host:port), or leave it empty.</source>
        <translation>请按 http://主机:端口 的格式填写代理服务器（需要登录时：http://用户名:密码@主机:端口），或留空。</translation>
    </message>
    <message>
        <source>No such file: choose the certificate bundle (.pem or .crt) again.</source>
        <translation>文件不存在：请重新选择证书文件（.pem 或 .crt）。</translation>
    </message>
    <message>
        <source>%1 is not a certificate file: ask the administrator for the certificate of the authority as a .pem, .crt or .cer file.</source>
        <translation>%1 不是证书文件：请向管理员索取证书颁发机构的证书（.pem、.crt 或 .cer 文件）。</translation>
    </message>
    <message>
        <source>%1 cannot be read: %2</source>
        <translation>无法读取 %1：%2</translation>
    </message>
    <message>
        <source>Certificate bundle</source>
        <translation>证书文件</translation>
    </message>
    <message>
        <source>Certificates (*.pem *.crt *.cer);;All files (*)</source>
        <translation>证书文件 (*.pem *.crt *.cer);;所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>SyncController</name>
    <message>
        <source>Still waiting for the exchange… (%1 s so far; giving up in at most %2 s)</source>
        <translation>仍在等待交换平台应答…（已等 %1 秒，最多 %2 秒后放弃）</translation>
    </message>
    <message>
        <source>Sync</source>
        <translation>同步</translation>
    </message>
    <message>
        <source>This workspace has no signing key yet. Create one (Sync ▸ Create signing key), give the exported public key to the exchange&apos;s administrator for enrollment, then sync.</source>
        <translation>本工作区还没有签名密钥。请先创建（同步 ▸ 创建签名密钥），把导出的公钥交给交换平台管理员登记，然后再同步。</translation>
    </message>
    <message>
        <source>Unlock signing key</source>
        <translation>解锁签名密钥</translation>
    </message>
    <message>
        <source>Passphrase of the signing key:</source>
        <translation>签名密钥口令：</translation>
    </message>
    <message>
        <source>Contacting the exchange…</source>
        <translation>正在连接交换平台…</translation>
    </message>
    <message>
        <source>Confirm the exchange</source>
        <translation>确认交换平台</translation>
    </message>
    <message>
        <source>First contact with the exchange at %1. Compare its key fingerprint with the one its administrator gave you:

%2

Trust this exchange?</source>
        <translation>首次连接交换平台 %1。请将其密钥指纹与平台管理员提供的指纹核对：

%2

信任此交换平台吗？</translation>
    </message>
    <message>
        <source>Previewing what will be published…</source>
        <translation>正在预览将要发布的内容…</translation>
    </message>
    <message>
        <source>Sync now? (Sync ▸ Publish preview lists the datasets.)</source>
        <translation>现在同步吗？（同步 ▸ 发布预览 列出这些数据集。）</translation>
    </message>
    <message>
        <source>A sync is already running.</source>
        <translation>已有一次同步正在进行。</translation>
    </message>
    <message>
        <source>No exchange address is set: enter it in File ▸ Settings.</source>
        <translation>尚未设置交换平台地址：请在 文件 ▸ 设置 中填写。</translation>
    </message>
    <message>
        <source>Syncing with the exchange…</source>
        <translation>正在与交换平台同步…</translation>
    </message>
    <message>
        <source>Synced: received %1, sent %2</source>
        <translation>已同步：收到 %1，送出 %2</translation>
    </message>
    <message numerus="yes">
        <source>%n update(s)</source>
        <translation>
            <numerusform>%n 处更新</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n change(s)</source>
        <translation>
            <numerusform>%n 处修改</numerusform>
        </translation>
    </message>
    <message>
        <source>Sync cancelled: what was finished is kept; the next sync continues.</source>
        <translation>同步已取消：已完成的部分已保存，下次同步继续。</translation>
    </message>
    <message>
        <source>The exchange does not accept this workspace&apos;s key. Give the exported public key to the exchange&apos;s administrator for enrollment.</source>
        <translation>交换平台不认可本工作区的密钥。请把导出的公钥交给交换平台管理员登记。</translation>
    </message>
    <message>
        <source>The exchange refused: %1</source>
        <translation>交换平台拒绝：%1</translation>
    </message>
    <message>
        <source>Signing key</source>
        <translation>签名密钥</translation>
    </message>
    <message>
        <source>This workspace&apos;s key:
%1</source>
        <translation>本工作区的密钥：
%1</translation>
    </message>
    <message>
        <source>No secure keyring is available here: choose a passphrase (8 characters or more) to protect the key.</source>
        <translation>本机没有可用的安全密钥环：请设置一个口令（至少 8 个字符）来保护密钥。</translation>
    </message>
    <message>
        <source>Created the signing key. Its fingerprint:
%1

Export the public key (Sync ▸ Export public key) and give it to the exchange&apos;s administrator for enrollment.</source>
        <translation>已创建签名密钥。其指纹：
%1

请导出公钥（同步 ▸ 导出公钥）并交给交换平台管理员登记。</translation>
    </message>
</context>
<context>
    <name>VocabularyDelegate</name>
    <message>
        <source>(as the entry)</source>
        <translation>（同条目）</translation>
    </message>
</context>
<context>
    <name>WorkspaceFailureDialog</name>
    <message>
        <source>The workspace could not be opened</source>
        <translation>无法打开工作区</translation>
    </message>
    <message>
        <source>The workspace could not be opened:</source>
        <translation>无法打开工作区：</translation>
    </message>
    <message>
        <source>&amp;Open another folder…</source>
        <translation>打开其他文件夹(&amp;O)…</translation>
    </message>
    <message>
        <source>&amp;Create new…</source>
        <translation>新建工作区(&amp;C)…</translation>
    </message>
    <message>
        <source>Open &amp;sample</source>
        <translation>打开示例工作区(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Open a workspace folder</source>
        <translation>打开工作区文件夹</translation>
    </message>
    <message>
        <source>Preparing the sample workspace…</source>
        <translation>正在准备示例工作区…</translation>
    </message>
    <message>
        <source>The sample workspace could not be made.</source>
        <translation>无法创建示例工作区。</translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>Opening the workspace… An older one is backed up and updated first.</source>
        <translation>正在打开工作区…旧版本的工作区会先备份，再升级。</translation>
    </message>
    <message>
        <source>Steward</source>
        <translation>数据资源目录管理</translation>
    </message>
    <message>
        <source>The demo cannot start: %1</source>
        <translation>无法启动演示：%1</translation>
    </message>
</context>
<context>
    <name>progress</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
</context>
<context>
    <name>request_form</name>
    <message>
        <source>Not shared</source>
        <translation>不予共享</translation>
    </message>
    <message>
        <source>“%1” (%2) is not shared: it cannot be applied for.</source>
        <translation>“%1”（%2）为不予共享，不能申请。</translation>
    </message>
    <message>
        <source>(none given)</source>
        <translation>（未填写）</translation>
    </message>
    <message>
        <source>Legal basis: %1</source>
        <translation>依据：%1</translation>
    </message>
</context>
<context>
    <name>session</name>
    <message>
        <source>Undoing or redoing a large change</source>
        <translation>正在撤销或重做大批量修改</translation>
    </message>
</context>
</TS>
