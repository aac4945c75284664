"""The console's words, Chinese first and English second, by key; pages ask `Words(lang)(key, **params)`."""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("zh", "en")

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("政务数据资源目录交换平台", "Data resource catalogue exchange"),
    "console": ("管理控制台", "Console"),
    "language.other": ("English", "中文"),
    "nav.overview": ("总览", "Overview"),
    "nav.departments": ("部门", "Departments"),
    "nav.catalogue": ("目录", "Catalogue"),
    "nav.reviews": ("审核", "Reviews"),
    "nav.log": ("日志", "Log"),
    "logout": ("退出", "Log out"),
    "signed_in_as": ("{name}（{role}）", "{name} ({role})"),
    "role.admin": ("管理员", "administrator"),
    "role.reviewer": ("审核员", "reviewer"),
    # Login
    "login.title": ("登录", "Log in"),
    "login.account": ("账户", "Account"),
    "login.password": ("密码", "Password"),
    "login.code": ("动态口令（已开启时填写）", "One-time code (when turned on)"),
    "login.submit": ("登录", "Log in"),
    "login.wrong": ("账户、密码或动态口令不正确。", "The account, password or one-time code is not right."),
    "login.locked": (
        "密码错误次数过多，账户已锁定至 {until}（UTC）。",
        "Too many wrong passwords: the account is locked until {until} (UTC).",
    ),
    "login.address_locked": (
        "此地址登录失败次数过多，已暂停至 {until}（UTC）。",
        "Too many failed logins from this address: it may try again after {until} (UTC).",
    ),
    "login.expired": ("会话已过期，请重新登录。", "The session expired: please log in again."),
    # Errors
    "denied.title": ("不允许", "Not allowed"),
    "denied.csrf": (
        "表单已失效（缺少或不匹配的校验码）。请返回页面重新提交。",
        "The form is no longer valid (its check token is missing or wrong). Go back, reload the page and send"
        " it again.",
    ),
    "denied.role": ("只有管理员可以执行此操作。", "Only an administrator may do this."),
    "back": ("返回", "Back"),
    # Overview
    "overview.title": ("总览", "Overview"),
    "overview.city": ("全市", "City-wide"),
    "overview.department": ("部门", "Department"),
    "overview.entries": ("条目", "Entries"),
    "overview.sharing_rate": ("共享率", "Sharing rate"),
    "overview.open_rate": ("开放率", "Open rate"),
    "overview.overdue": ("逾期未更新", "Overdue"),
    "overview.last_sync": ("最近提交", "Last push"),
    "overview.keys": ("密钥（有效/待批准）", "Keys (enrolled/pending)"),
    "overview.overdue_note": (
        "逾期未更新：条目在交换平台上最后一次变更距今超过其更新周期（不定期除外）。",
        "Overdue: the entry's last change at the exchange is older than its update frequency (irregular excepted).",
    ),
    "overview.log": ("处理记录", "The log"),
    "overview.head": (
        "变更记录头：第 {position} 条，哈希 {hash}",
        "Changeset log head: record {position}, hash {hash}",
    ),
    "overview.admin_head": (
        "管理记录头：第 {position} 条，哈希 {hash}",
        "Administration log head: record {position}, hash {hash}",
    ),
    "overview.verified_ok": (
        "最近一次校验（{at}，{by}）：完整，签名、哈希链与目录一致。",
        "Last verification ({at}, {by}): sound; signatures, hash chain and catalogue agree.",
    ),
    "overview.verified_bad": (
        "最近一次校验（{at}，{by}）：发现 {count} 处问题。",
        "Last verification ({at}, {by}): {count} problems found.",
    ),
    "overview.never_verified": ("尚未校验过。", "Not verified yet."),
    "overview.waiting": ("待批准的注册申请", "Enrollment requests waiting"),
    "overview.reviews_waiting": ("待审核的共享申请", "Sharing requests to review"),
    "overview.reviews_overdue": ("其中已逾期", "Of which overdue"),
    # Departments
    "departments.title": ("部门", "Departments"),
    "departments.add": ("登记部门", "Register a department"),
    "departments.code": ("统一社会信用代码", "Unified social credit code"),
    "departments.name": ("部门名称", "Department name"),
    "departments.added": ("已登记部门 {code} {name}。", "Registered department {code} {name}."),
    "departments.none": ("还没有登记任何部门。", "No department is registered yet."),
    "department.keys": ("数据管理员密钥", "Stewards' keys"),
    "department.key_id": ("密钥编号", "Key id"),
    "department.fingerprint": ("指纹", "Fingerprint"),
    "department.steward": ("数据管理员", "Steward"),
    "department.status": ("状态", "Status"),
    "department.since": ("时间", "Since"),
    "department.last_push": ("最近提交", "Last push"),
    "department.actions": ("操作", "Actions"),
    "key.enrolled": ("有效", "enrolled"),
    "key.revoked": ("已吊销", "revoked"),
    "key.pending": ("待批准", "pending"),
    "key.approve": ("批准", "Approve"),
    "key.decline": ("拒绝", "Decline"),
    "key.revoke": ("吊销", "Revoke"),
    "key.reason": ("吊销原因", "Reason for revoking"),
    "key.approved": (
        "已批准密钥 {key_id}，该数据管理员现在可以同步。",
        "Approved key {key_id}: the steward can sync now.",
    ),
    "key.declined": ("已拒绝密钥 {key_id} 的注册申请。", "Declined the enrollment request of key {key_id}."),
    "key.revoked_done": ("已吊销密钥 {key_id}。", "Revoked key {key_id}."),
    "key.enrolled_done": ("已登记密钥 {key_id}。", "Enrolled key {key_id}."),
    "key.none": ("还没有密钥。", "No keys yet."),
    "enroll.title": ("登记公钥文件", "Enroll a public key file"),
    "enroll.file": ("公钥文件（steward keys export 导出）", "Public key file (from steward keys export)"),
    "enroll.submit": ("登记", "Enroll"),
    "profile.title": ("接入配置文件", "Profile"),
    "profile.explain": (
        "把接入配置文件交给该部门的数据管理员：用 Steward 打开（文件 ▸ 打开接入配置…，或 steward join），即可"
        "创建工作区并申请注册密钥，无需核对指纹。申请出现在上方，由您批准。",
        "Give the profile to the department's steward: opening it in Steward (File ▸ Open profile…, or stewar"
        "d join) creates the workspace and requests the key's enrollment, without a fingerprint to compare. T"
        "he request appears above for you to approve.",
    ),
    "profile.download": ("下载接入配置文件", "Download the profile"),
    # Catalogue
    "catalogue.title": ("目录", "Catalogue"),
    "catalogue.search": ("搜索名称或代码", "Search names or codes"),
    "catalogue.all_departments": ("全部部门", "All departments"),
    "catalogue.submit": ("搜索", "Search"),
    "catalogue.count": ("共 {count} 条", "{count} entries"),
    "catalogue.none": ("没有符合条件的条目。", "No entry matches."),
    "catalogue.more": ("下一页", "Next page"),
    "field.code": ("资源代码", "Resource code"),
    "field.name": ("名称", "Name"),
    "field.department": ("提供方", "Provider"),
    "field.version": ("版本", "Version"),
    "field.updated": ("最近变更", "Last change"),
    "field.status": ("状态", "Status"),
    "status.active": ("有效", "active"),
    "status.retired": ("已停用", "retired"),
    "entry.history": ("变更历史", "History"),
    "entry.position": ("记录", "Record"),
    "entry.signed_by": ("签名者", "Signed by"),
    "entry.author": ("作者", "Author"),
    "entry.accepted": ("接收时间", "Accepted"),
    "entry.changes": ("变更", "Changes"),
    # Reviews of sharing requests
    "reviews.title": ("审核", "Reviews"),
    "reviews.count": (
        "待审核或待协调的共享申请 {count} 件，其中逾期 {overdue} 件。",
        "Sharing requests waiting for a compliance review or an outcome: {count}, of which overdue: {overdue}.",
    ),
    "reviews.none": ("没有等待审核或协调的共享申请。", "No sharing request waits for a review or an outcome."),
    "reviews.due": ("办理期限", "Due"),
    "reviews.status": ("状态", "Status"),
    "reviews.requester": ("申请部门", "Requester"),
    "reviews.entry": ("资源", "Entry"),
    "reviews.purpose": ("用途", "Purpose"),
    "reviews.scenario": ("应用场景：", "Scenario: "),
    "reviews.scenario_title": ("应用场景", "Scenario"),
    "reviews.items": ("申请的信息项", "Items asked for"),
    "reviews.until": ("使用期限至", "Until"),
    "reviews.separator": ("、", ", "),
    "reviews.more_items": ("等 {count} 项", " and {count} more"),
    "reviews.open": ("办理", "Open"),
    "reviews.previous": ("上一页", "Previous page"),
    "reviews.overdue": ("{due}，已逾期 {days} 个工作日", "{due}: overdue by {days} working days"),
    "reviews.due_today": ("{due}（今日到期）", "{due} (due today)"),
    "reviews.due_in": ("{due}（还剩 {days} 个工作日）", "{due} ({days} working days left)"),
    "reviews.note": (
        "办理期限按工作日计算（法定节假日与调休以交换平台的日历为准），以北京时间当日结束为限；最紧迫的排在最前。"
        "提交的申请先作符合性审查；提供部门拒绝后申请部门申请协调的，由数据主管部门作出协调结果。",
        "Due dates count working days (public holidays and make-up days as the exchange's calendar has them) and"
        " end at midnight China time; the most urgent come first. A submitted request waits for its compliance"
        " review; an escalated one (refused by the provider) for the data authority's outcome.",
    ),
    "review.title": ("共享申请：{code}", "Sharing request: {code}"),
    "review.request_id": ("申请编号", "Request id"),
    "review.trail": ("签名记录", "Signed trail"),
    "review.kind": ("环节", "Step"),
    "review.signed_by": ("签名者", "Signed by"),
    "review.said": ("内容", "What it says"),
    "review.key": ("密钥 {key_id}…", "key {key_id}…"),
    "review.authority": (
        "数据主管部门（交换平台）· 审查人 {reviewer}",
        "The data authority (the exchange), reviewer {reviewer}",
    ),
    "review.exchange_key": ("交换平台密钥 {key_id}…", "the exchange's key {key_id}…"),
    "review.conditions_said": ("条件：{conditions}", "Conditions: {conditions}"),
    "review.reason_said": ("理由：{reason}", "Reason: {reason}"),
    "review.times_note": (
        "时间为交换平台接收该环节的时间（UTC）；办理期限为该环节之后等待的答复的期限。",
        "Times are when the exchange recorded each step (UTC); the due date is that of the answer each step waits for.",
    ),
    "review.review_title": ("符合性审查", "Compliance review"),
    "review.settle_title": ("协调结果", "Outcome of the escalation"),
    "review.reason_optional": ("说明（可不填）", "Note (optional)"),
    "review.reason_required_label": ("理由（必填）", "Reason (required)"),
    "review.conditions_label": ("共享条件（仅在同意共享时填写，可不填）", "Conditions (only with a grant; optional)"),
    "review.outcome": ("结果", "Outcome"),
    "review.settle": ("记录协调结果", "Record the outcome"),
    "review.signs_as": (
        "由交换平台的密钥签名，审查人记为 {account}，并写入处理记录。",
        "Signed with the exchange's key naming {account} as the reviewer, and added to the log.",
    ),
    "review.done.pass": (
        "已通过符合性审查，申请现为“{status}”。",
        "Passed the compliance review: the request is now {status}.",
    ),
    "review.done.reject": ("已驳回，申请现为“{status}”。", "Rejected: the request is now {status}."),
    "review.done.grant": ("已记录协调结果：同意共享。", "Outcome recorded: granted."),
    "review.done.deny": ("已记录协调结果：不予共享。", "Outcome recorded: denied."),
    "review.reason_required": (
        "请填写理由：驳回和协调结果都须说明理由。未记录任何内容。",
        "Give the reason: a rejection and an outcome both need one. Nothing was recorded.",
    ),
    "review.conditions_without_grant": (
        "只有同意共享时才能附加条件。未记录任何内容。",
        "Only a grant carries conditions. Nothing was recorded.",
    ),
    "review.too_long": (
        "理由和条件各不超过 {limit} 个字。未记录任何内容。",
        "A reason or conditions may hold {limit} characters at most. Nothing was recorded.",
    ),
    "review.conflict": (
        "未能记录：该申请已由他人处理或已撤回，现为“{status}”。未记录任何内容。",
        "Not recorded: someone else already answered this request, or it was withdrawn; it is now {status}."
        " Nothing was recorded.",
    ),
    "verdict.pass": ("通过", "Pass"),
    "verdict.reject": ("驳回", "Reject"),
    "verdict.grant": ("同意共享", "Grant"),
    "verdict.deny": ("不予共享", "Deny"),
    "verdict.approve": ("同意", "Approve"),
    "verdict.refuse": ("拒绝", "Refuse"),
    # Log
    "log.title": ("日志", "Log"),
    "log.changesets": ("变更与共享申请记录", "Changesets and sharing steps"),
    "log.exchange": ("交换平台", "the exchange"),
    "log.admin": ("管理记录", "Administration"),
    "log.verify": ("立即校验", "Verify now"),
    "log.verified_ok": ("校验完成：处理记录完整。", "Verified: the log is sound."),
    "log.verified_bad": ("校验完成：发现 {count} 处问题。", "Verified: {count} problems found."),
    "log.position": ("序号", "Position"),
    "log.time": ("时间", "Time"),
    "log.key": ("密钥", "Key"),
    "log.entries": ("条目数或步骤", "Entries or step"),
    "log.hash": ("哈希", "Hash"),
    "log.action": ("操作", "Action"),
    "log.account": ("账户", "Account"),
    "log.details": ("内容", "Details"),
    "log.older": ("更早", "Older"),
    "log.none": ("还没有记录。", "No records yet."),
    "action.department.add": ("登记部门", "department registered"),
    "action.key.enroll": ("登记密钥", "key enrolled"),
    "action.key.approve": ("批准注册申请", "enrollment approved"),
    "action.key.decline": ("拒绝注册申请", "enrollment declined"),
    "action.key.revoke": ("吊销密钥", "key revoked"),
    "action.log.verify": ("校验处理记录", "log verified"),
    "action.exchange_key.rotate": ("更换平台密钥", "exchange key rotated"),
    "action.account.add": ("添加控制台账户", "console account added"),
    "action.account.password": ("设置账户密码", "account password set"),
    "action.account.disable": ("停用账户", "account disabled"),
    "action.account.totp": ("开启动态口令", "one-time codes turned on"),
    "action.request.review": ("审查共享申请", "sharing request reviewed"),
    "action.request.outcome": ("记录协调结果", "escalation settled"),
    # Refusals the console shows (the exchange's own messages are English; these say it for people)
    "error.department_code_invalid": (
        "{code} 不是有效的统一社会信用代码。",
        "{code} is not a valid unified social credit code.",
    ),
    "error.department_name_required": ("请填写部门名称。", "The department needs a name."),
    "error.department_exists": ("部门 {code} 已登记。", "Department {code} is registered already."),
    "error.other": ("未能完成：{message}", "Not done: {message}"),
    "error.reason_required": ("请填写吊销原因。", "Give the reason for revoking."),
}


@dataclass(frozen=True)
class Words:
    lang: str

    def __call__(self, key: str, **params: object) -> str:
        zh, en = TEXTS[key]
        template = zh if self.lang == "zh" else en
        return template.format(**params) if params else template
