"""Every message the core shows a person, by stable code, in Chinese and English.

Templates use named placeholders only. A placeholder called `field` holds a field key and is
shown as that field's label in the reader's language; `value` holds a vocabulary key in the
vocabulary named by `vocabulary` when that parameter is present.
"""

from __future__ import annotations

import errno
import locale
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD
from steward.catalogue.vocabulary import label as vocab_label

MESSAGES: dict[str, tuple[str, str]] = {
    # Rules (problems of an entry)
    "required": ("{field}不能为空", "{field} is required"),
    "item.required": ("第{position}个信息项的{field}不能为空", "{field} of data item {position} is required"),
    "items.empty": ("至少需要一个信息项", "At least one data item is required"),
    "vocab.unknown": ("{field}的值“{value}”不在规定的取值范围内", "{field}: “{value}” is not an allowed value"),
    "item.vocab.unknown": (
        "第{position}个信息项的{field}“{value}”不在规定的取值范围内",
        "{field} of data item {position}: “{value}” is not an allowed value",
    ),
    "item.length.invalid": (
        "第{position}个信息项的数据长度必须是正整数",
        "The length of data item {position} must be a positive whole number",
    ),
    "text.refused_character": (
        "{field}含有不允许的字符 {char}（控制字符或无效字符）",
        "{field} holds the character {char}, which is not allowed (a control or invalid character)",
    ),
    "item.text.refused_character": (
        "第{position}个信息项的{field}含有不允许的字符 {char}（控制字符或无效字符）",
        "{field} of data item {position} holds the character {char}, which is not allowed "
        "(a control or invalid character)",
    ),
    "text.too_long": (
        "{field}长 {length} 个字符，最多只能有 {limit} 个",
        "{field} is {length} characters long; at most {limit} are allowed",
    ),
    "item.text.too_long": (
        "第{position}个信息项的{field}长 {length} 个字符，最多只能有 {limit} 个",
        "{field} of data item {position} is {length} characters long; at most {limit} are allowed",
    ),
    "item.name.duplicate": (
        "信息项名称“{name}”重复出现",
        "The data item name “{name}” appears more than once",
    ),
    "classification.invalid": (
        "信息资源分类“{value}”格式不正确：应为类（1位，1–3）+项（2位）+目（3位）+细目（可选）",
        "Classification “{value}” is malformed: class (1 digit, 1–3) + item (2) + group (3) + sub-group (optional)",
    ),
    "code.invalid": (
        "信息资源代码“{value}”格式不正确：应为“分类码/顺序码”，如 202003/000001",
        "Resource code “{value}” is malformed: it must be “classification/sequence”, e.g. 202003/000001",
    ),
    "code.classification_mismatch": (
        "信息资源代码的分类码“{code_class}”与信息资源分类“{classification}”不一致",
        "The resource code's classification “{code_class}” differs from the classification “{classification}”",
    ),
    "code.duplicate": (
        "信息资源代码“{value}”与其他条目重复",
        "Resource code “{value}” is used by another entry",
    ),
    "provider_code.invalid": (
        "提供方代码“{value}”不是有效的统一社会信用代码",
        "Provider code “{value}” is not a valid unified social credit code",
    ),
    "provider_code.foreign": (
        "提供方代码“{value}”与本工作区部门（{department}）不一致",
        "Provider code “{value}” is not this workspace's department ({department})",
    ),
    "sharing.conditions_required": (
        "有条件共享须填写共享条件",
        "Sharing on conditions needs the conditions",
    ),
    "sharing.basis_required": (
        "不予共享须在共享条件中写明法律、法规或政策依据",
        "Not sharing needs its legal or policy basis in the sharing conditions",
    ),
    "sharing.method_required": (
        "可共享的资源须填写共享方式",
        "A shared resource needs its sharing method",
    ),
    "open.conditions_required": (
        "有条件开放须填写开放条件",
        "Opening on conditions needs the open conditions",
    ),
    "open.not_shared_but_open": (
        "不予共享的资源必须不予开放（公众不能看到比其他部门更多的数据）",
        "A resource that is not shared must not be open (the public may never see more than other departments)",
    ),
    "item.more_open_than_entry": (
        "第{position}个信息项“{name}”的{field}比资源本身更开放",
        "Data item {position} “{name}”: its {field} is more open than the resource's",
    ),
    "related.invalid": (
        "关联资源代码“{value}”格式不正确",
        "Related resource code “{value}” is malformed",
    ),
    "related.self": (
        "关联资源代码不能指向本条目自身",
        "An entry cannot be related to itself",
    ),
    "published.invalid": (
        "发布日期“{value}”无效：应为 YYYY-MM-DD 格式的有效日期",
        "Publication date “{value}” is invalid: it must be a real date written YYYY-MM-DD",
    ),
    "published.future": (
        "发布日期“{value}”在未来",
        "Publication date “{value}” is in the future",
    ),
    # A field label that depends on other fields: the sharing conditions of a resource not shared
    "label.sharing_basis": ("不予共享依据", "Basis for not sharing"),
    # Workspace and command line
    "workspace.missing": (
        "“{path}”不是 Steward 工作区（找不到 {file}）；可用 steward init 创建",
        "“{path}” is not a Steward workspace (no {file}); create one with steward init",
    ),
    "workspace.exists": ("“{path}”已经是一个工作区", "“{path}” is already a workspace"),
    "workspace.corrupt": (
        "工作区文件“{path}”已损坏或不是 Steward 工作区：{reason}",
        "The workspace file “{path}” is damaged or not a Steward workspace: {reason}",
    ),
    "workspace.newer": (
        "工作区“{path}”由更新版本的 Steward 创建（架构版本 {revision}），请升级 Steward 后再打开",
        "The workspace “{path}” was made by a newer Steward (schema {revision}); upgrade Steward to open it",
    ),
    "workspace.locked": (
        "工作区“{path}”正被另一个程序使用，请稍后再试",
        "The workspace “{path}” is in use by another program; try again shortly",
    ),
    "workspace.read_only": (
        "工作区“{path}”是只读的（其文件或文件夹不可写入，如审计用的副本）：可以查看、搜索、检查和导出，但不能修改",
        "The workspace “{path}” is read-only (its file or folder cannot be written, as with an auditor's copy): "
        "it can be viewed, searched, validated and exported, but not changed",
    ),
    "workspace.read_only_older": (
        "工作区“{path}”由旧版本 Steward 创建，须先升级才能打开，但它是只读的："
        "请在可写入的位置打开一次（升级前会自动备份）",
        "The workspace “{path}” was made by an older Steward and must be upgraded before it opens, but it is "
        "read-only: open it once where it can be written (a backup is made before the upgrade)",
    ),
    "workspace.cannot_create": (
        "无法在“{path}”创建工作区：{reason}",
        "Cannot create a workspace in “{path}”: {reason}",
    ),
    "reason.empty_file": ("空文件", "an empty file"),
    "reason.not_sqlite": ("不是 SQLite 数据库", "not an SQLite database"),
    "reason.no_schema": ("没有架构版本", "no schema version"),
    # Why the operating system refused (OSError), in the reader's words
    "os.permission": ("没有权限", "permission denied"),
    "os.read_only_file_system": ("只读文件系统", "read-only file system"),
    "os.disk_full": ("磁盘空间不足", "no space left on the disk"),
    "os.not_found": ("找不到文件或文件夹", "no such file or folder"),
    "os.is_folder": ("这是一个文件夹", "it is a folder"),
    "os.not_folder": ("路径中有一部分不是文件夹", "part of the path is not a folder"),
    "workspace.migrated": (
        "工作区已升级到新版本，升级前的备份保存在 {backup}",
        "The workspace was upgraded; a backup of the old version is at {backup}",
    ),
    "department.code_invalid": (
        "部门代码“{value}”不是有效的统一社会信用代码（18位，含校验位）",
        "Department code “{value}” is not a valid unified social credit code (18 characters with check digit)",
    ),
    "department.name_required": ("部门名称不能为空", "The department name is required"),
    "entry.not_found": ("找不到条目“{key}”", "No entry “{key}”"),
    "conflict.reason": ("解决同步冲突", "Resolving a sync conflict"),
    "conflict.unresolved": (
        "条目“{key}”还有 {count} 处冲突未选择处理方式",
        "Entry “{key}” still has {count} conflicts without a choice",
    ),
    "entry.read_only": (
        "条目“{key}”属于部门 {department}，在本工作区只读",
        "Entry “{key}” belongs to department {department} and is read-only here",
    ),
    "entry.ambiguous": (
        "“{key}”对应多个条目，请改用条目 ID",
        "“{key}” matches several entries; use the entry id instead",
    ),
    "entry.erase_synced": (
        "条目“{key}”已同步过，只能停用，不能删除",
        "Entry “{key}” has been synced: it can be retired but not erased",
    ),
    "reason.required": (
        "将{field}改为更严格的类别须说明理由（命令行用 --reason）",
        "Making the {field} more restrictive needs a reason (--reason on the command line)",
    ),
    "reason.required_item": (
        "将信息项的{field}改为更严格的类别须说明理由（命令行用 --reason）",
        "Making a data item's {field} more restrictive needs a reason (--reason on the command line)",
    ),
    "reason.blank": (
        "理由不能为空白：请写明修改的理由，或不带 --reason",
        "The reason cannot be blank: write why, or leave out --reason",
    ),
    "undo.reason": ("撤销：{reason}", "Undo: {reason}"),
    "undo.plain": ("撤销此前的修改", "Undo of an earlier change"),
    "set.syntax": (
        "无法理解“{text}”：应写成 字段=值",
        "Cannot read “{text}”: write FIELD=VALUE",
    ),
    "set.unknown_field": (
        "未知字段“{key}”；可用字段见 docs/cli.md",
        "Unknown field “{key}”; docs/cli.md lists the fields",
    ),
    "set.bad_value": (
        "{field}不接受“{value}”：{reason}",
        "{field} does not accept “{value}”: {reason}",
    ),
    "set.no_item": ("没有第{position}个信息项", "There is no data item {position}"),
    "set.refused": ("未作修改：{problem}", "Nothing was changed: {problem}"),
    "value.vocab": ("可选值：{choices}", "allowed values: {choices}"),
    "value.int": ("应为整数", "a whole number is expected"),
    "sample.count": ("条目数必须是正整数", "The number of entries must be a positive whole number"),
    # Steward keys
    "keys.exists": (
        "本工作区已有签名密钥 {key_id}；如需更换请先运行 steward keys delete",
        "This workspace already has signing key {key_id}; run steward keys delete first to replace it",
    ),
    "keys.none": (
        "本工作区还没有签名密钥：请运行 steward keys new",
        "This workspace has no signing key: run steward keys new",
    ),
    "keys.public_file_invalid": ("公钥文件 {path} 无效：{reason}", "The public key file {path} is not valid: {reason}"),
    "keys.public_file_mismatch": (
        "公钥文件 {path} 声明的 {member} 为 {declared}，与文件中的公钥不符（应为 {actual}）："
        "文件可能被改动或混淆，请数据管理员重新导出（steward keys export）",
        "The public key file {path} declares {member} {declared}, which does not match its public key "
        "(that is {actual}): the file may have been edited or mixed up; have the steward export it again "
        "(steward keys export)",
    ),
    "keys.weak.small_order": (
        "{source} 中的公钥是小阶点（如单位元）：任何人都能冒用它签名，已拒绝",
        "The public key in {source} is a small-order point (such as the identity): anyone could sign as it, "
        "so it is refused",
    ),
    "keys.weak.non_canonical": (
        "{source} 中的公钥编码不规范（y 不小于 p）：已拒绝",
        "The public key in {source} is not canonically encoded (its y is not below p), so it is refused",
    ),
    "keys.weak.not_on_curve": (
        "{source} 中的公钥不是 Ed25519 曲线上的点：已拒绝",
        "The public key in {source} is not a point of the Ed25519 curve, so it is refused",
    ),
    "keys.passphrase_missing": (
        "没有可用的系统密钥环，密钥须以口令加密保存：请输入口令，或设置环境变量 {variable}",
        "No system keyring is available, so the key is kept encrypted with a passphrase: "
        "enter one, or set {variable}",
    ),
    "keys.passphrase_prompt": ("签名密钥口令：", "Signing key passphrase:"),
    "keys.passphrase_again": ("再次输入口令：", "The passphrase again:"),
    "keys.passphrase_short": ("口令至少需要 {minimum} 个字符", "The passphrase needs at least {minimum} characters"),
    "keys.passphrase_mismatch": ("两次输入的口令不一致", "The two passphrases differ"),
    "keys.passphrase_wrong": ("口令错误，无法解开签名密钥", "Wrong passphrase: the signing key cannot be unlocked"),
    "keys.file_missing": ("找不到密钥文件 {path}", "The key file {path} is missing"),
    "keys.file_invalid": ("密钥文件 {path} 已损坏：{reason}", "The key file {path} is damaged: {reason}"),
    "keys.keyring_failed": ("系统密钥环出错：{reason}", "The system keyring failed: {reason}"),
    "keys.not_in_keyring": (
        "系统密钥环中没有密钥 {key_id}（可能在另一台电脑或另一个用户下创建）",
        "Key {key_id} is not in the system keyring (it may have been made on another computer or user)",
    ),
    "keys.mismatch": (
        "取出的密钥与记录的密钥 {key_id} 不符",
        "The stored key does not match the recorded key {key_id}",
    ),
    "cli.key_created": (
        "已创建签名密钥 {key_id}（保存在{storage}中）\n指纹：{fingerprint}",
        "Created signing key {key_id} (kept in the {storage})\nFingerprint: {fingerprint}",
    ),
    "cli.key_shown": (
        "签名密钥 {key_id}（保存在{storage}中）\n指纹：{fingerprint}",
        "Signing key {key_id} (kept in the {storage})\nFingerprint: {fingerprint}",
    ),
    "cli.key_exported": (
        "已写出公钥 {path}；请将此文件交给交换平台管理员登记",
        "Wrote the public key to {path}; give this file to the exchange's administrator for enrollment",
    ),
    "cli.key_deleted": ("已删除签名密钥 {key_id}", "Deleted signing key {key_id}"),
    # Talking to the exchange
    "exchange.unreachable": (
        "无法连接交换平台 {url}：{reason}（修改会保留在本地，下次同步时继续）",
        "Cannot reach the exchange at {url}: {reason} (changes stay here and the next sync continues)",
    ),
    "exchange.tls": (
        "交换平台 {url} 的证书无法验证：{reason}（如单位使用自有证书，请在设置中指定证书文件）",
        "The certificate of the exchange at {url} cannot be verified: {reason} "
        "(if your office uses its own certificate authority, name its certificate file in Settings)",
    ),
    "exchange.refused": (
        "交换平台 {url} 拒绝了请求（HTTP {status} {answer}）：{reason}（修改会保留在本地）",
        "The exchange at {url} refused the request (HTTP {status} {answer}): {reason} (changes stay here)",
    ),
    "exchange.bad_answer": (
        "交换平台 {url} 的应答无法识别（HTTP {status}）：{reason}",
        "The exchange at {url} gave an answer that cannot be read (HTTP {status}): {reason}",
    ),
    "exchange.connection_refused": (
        "交换平台 {url} 拒绝连接：平台未运行，或地址、端口有误。修改会保留在本地，下次同步时继续。",
        "The exchange at {url} refused the connection: it is not running, or the address or port is wrong. "
        "Your changes stay here and the next sync continues.",
    ),
    "exchange.unknown_host": (
        "找不到主机 {host}：请核对交换平台地址 {url} 和网络连接。修改会保留在本地。",
        "The host {host} cannot be found: check the exchange's address {url} and the network. Your changes stay "
        "here.",
    ),
    "exchange.ca_bundle_missing": (
        "找不到证书文件 {path}：请检查路径，或向管理员重新索取单位的根证书文件",
        "The certificate file {path} does not exist: check the path, or ask the administrator for the office's "
        "CA certificate file again",
    ),
    "exchange.ca_bundle_unreadable": (
        "无法读取证书文件 {path}：{reason}",
        "The certificate file {path} cannot be read: {reason}",
    ),
    "exchange.ca_bundle_invalid": (
        "{path} 不是证书文件：请向管理员索取 PEM 或 DER 格式的根证书文件（.pem、.crt 或 .cer）",
        "{path} is not a certificate file: ask the administrator for the CA certificate as a PEM or DER file "
        "(.pem, .crt or .cer)",
    ),
    "exchange.tls_untrusted": (
        "交换平台 {url} 的证书由本机不信任的证书颁发机构“{issuer}”签发。请向交换平台管理员索取该机构的根证书文件"
        "（.pem 或 .crt），在“设置”中（或用 --ca-bundle）指定后再同步。修改会保留在本地。",
        "The certificate of the exchange at {url} is issued by “{issuer}”, an authority this computer does not "
        "trust. Ask the exchange's administrator for that authority's CA certificate file (.pem or .crt), name it "
        "in Settings (or with --ca-bundle), and sync again. Your changes stay here.",
    ),
    "exchange.tls_expired": (
        "交换平台 {url} 的证书已于 {date} 过期。需由交换平台管理员更换证书（也请确认本机日期无误）；修改会保留在本地。",
        "The certificate of the exchange at {url} expired on {date}. The exchange's administrator must renew it "
        "(also check this computer's date); your changes stay here.",
    ),
    "exchange.tls_not_yet_valid": (
        "交换平台 {url} 的证书自 {date} 起才生效：请确认本机日期无误，否则请联系交换平台管理员。修改会保留在本地。",
        "The certificate of the exchange at {url} is valid only from {date}: check this computer's date, otherwise "
        "tell the exchange's administrator. Your changes stay here.",
    ),
    "exchange.tls_wrong_host": (
        "交换平台 {url} 出示的证书不属于 {host}（证书适用于：{names}）。请核对地址；"
        "地址无误时需由交换平台管理员更换证书。修改会保留在本地。",
        "The exchange at {url} presents a certificate that is not for {host} (it is for: {names}). Check the "
        "address; if it is right, the exchange's administrator must fix the certificate. Your changes stay here.",
    ),
    "exchange.tls_incomplete_chain": (
        "交换平台 {url} 没有发送签发其证书的中间证书（“{issuer}”），因此无法验证。这需要交换平台管理员修正服务器配置"
        "（发送完整的证书链），本机无需更改；修改会保留在本地。",
        "The exchange at {url} does not send the intermediate certificate of “{issuer}”, which issued its "
        "certificate, so it cannot be verified. This is for the exchange's administrator to fix (configure the "
        "server to send the full certificate chain), not for this computer; your changes stay here.",
    ),
    "exchange.proxy_auth": (
        "代理服务器 {proxy} 要求登录（HTTP 407）：请在“设置”的代理中填写 http://用户名:密码@主机:端口，或核对密码。"
        "为免代理锁定账户，未重试。",
        "The proxy {proxy} asks for a login (HTTP 407): enter it in Settings as http://user:password@host:port, or "
        "check the password. Not retried, so the proxy does not lock the account.",
    ),
    "exchange.proxy_unreachable": (
        "无法连接代理服务器 {proxy}（{reason}）：请核对代理地址，或询问单位的网络管理员。修改会保留在本地。",
        "Cannot reach the proxy {proxy} ({reason}): check the proxy's address, or ask the office's network "
        "administrator. Your changes stay here.",
    ),
    "exchange.proxy_timeout": (
        "代理服务器 {proxy} 在 {seconds} 秒内没有应答：请稍后再试，或询问单位的网络管理员。修改会保留在本地。",
        "The proxy {proxy} did not answer within {seconds} s: try again later, or ask the office's network "
        "administrator. Your changes stay here.",
    ),
    "exchange.proxy_refused": (
        "代理服务器 {proxy} 拒绝连接交换平台 {url}（HTTP {status}）：请询问单位的网络管理员。",
        "The proxy {proxy} refused to connect to the exchange at {url} (HTTP {status}): ask the office's network "
        "administrator.",
    ),
    "exchange.unavailable": (
        "交换平台 {url} 暂时无法使用（HTTP {status}），重试后仍是如此。请稍后再同步；修改会保留在本地。",
        "The exchange at {url} is unavailable at the moment (HTTP {status}, also after retrying). Sync again "
        "later; your changes stay here.",
    ),
    "exchange.too_many_refusals": (
        "交换平台 {url} 暂不受理本密钥的请求：近期被拒绝的请求过多。请在 {seconds} 秒后再同步；修改会保留在本地。",
        "The exchange at {url} turns this key's requests away for now: too many were refused lately. Sync again "
        "in {seconds} s; your changes stay here.",
    ),
    "exchange.connect_timeout": (
        "{seconds} 秒内未能连接交换平台 {url}：请检查网络。修改会保留在本地。",
        "Could not connect to the exchange at {url} within {seconds} s: check the network. Your changes stay here.",
    ),
    "exchange.no_answer": (
        "交换平台 {url} 接受了连接，但 {seconds} 秒内没有应答。已完成的部分已保存，下次同步继续；"
        "网络很慢时可调整超时设置。",
        "The exchange at {url} accepted the connection but did not answer within {seconds} s. What was done is "
        "kept and the next sync continues; on a slow network, raise the timeouts in the settings.",
    ),
    "exchange.deadline": (
        "交换平台 {url} 应答太慢，同步在 {seconds} 秒后停止。已完成的部分已保存，下次同步继续；"
        "时限可在设置中（或用 --deadline）调整。",
        "The exchange at {url} answers too slowly: the sync stopped after {seconds} s. What was done is kept and "
        "the next sync continues; the limit can be changed in the settings (or with --deadline).",
    ),
    "exchange.proxy_no_keyring": (
        "本机没有安全的密钥环，无法保存代理密码：请改用环境变量 HTTPS_PROXY 设置带密码的代理",
        "This computer has no secure keyring to keep the proxy's password in: set the proxy with its login in the "
        "HTTPS_PROXY environment variable instead",
    ),
    "cli.bad_seconds": ("“{value}”不是正的秒数", "“{value}” is not a positive number of seconds"),
    "exchange.waiting": (
        "仍在等待交换平台 {url} 应答…（已等 {waited} 秒，最多 {left} 秒后放弃）",
        "Still waiting for the exchange at {url}… ({waited} s so far; giving up in at most {left} s)",
    ),
    # Syncing
    "sync.server_untrusted": (
        "首次连接交换平台 {url}：请与平台管理员核对其密钥指纹后确认：\n{fingerprint}",
        "First contact with the exchange at {url}: check its key fingerprint with its administrator, then confirm:\n"
        "{fingerprint}",
    ),
    "sync.server_key_changed": (
        "警告：交换平台 {url} 的密钥已改变，已拒绝同步。原指纹 {pinned}，现指纹 {offered}。"
        "请联系平台管理员；在确认之前不要继续。",
        "Warning: the key of the exchange at {url} has changed, so the sync was refused. Pinned {pinned}, "
        "offered {offered}. Contact the exchange's administrator and do not go on until this is explained.",
    ),
    "sync.server_key_rotated": (
        "交换平台 {url} 已更换密钥，并出示了原密钥签署的更换声明：现信任新密钥。原指纹 {old}，新指纹 {new}",
        "The exchange at {url} rotated its key and showed a statement signed by its old key: the new key is "
        "trusted now. Old fingerprint {old}, new fingerprint {new}",
    ),
    "sync.feed_invalid": (
        "警告：交换平台发来的第 {position} 条处理记录无法验证（{reason}），从该条起未应用任何内容。",
        "Warning: record {position} from the exchange does not verify ({reason}); nothing from it on was applied.",
    ),
    "sync.bad_receipt": (
        "交换平台对变更集 {changeset} 的回执无法验证",
        "The exchange's receipt for changeset {changeset} does not verify",
    ),
    "sync.copy_diverged": (
        "本地保存的平台副本与第 {position} 条处理记录不一致：请联系技术支持",
        "The workspace's copy of the exchange disagrees with record {position}: contact support",
    ),
    "sync.step_refused": (
        "警告：第 {position} 条处理记录中的共享申请步骤不应被接受（{reason}），从该条起未应用任何内容。"
        "同步已停止，请报告数据主管部门",
        "Warning: the sharing request step of record {position} should not have been accepted ({reason}); "
        "nothing from it on was applied. The sync stopped: report this to the data authority",
    ),
    "sync.foreign_change": (
        "第 {position} 条处理记录中，部门 {department} 修改了其他部门（{owner}）的条目 {entry}："
        "交换平台不应接受此变更，同步已停止，请报告数据主管部门",
        "Record {position}: department {department} changed entry {entry} of another department ({owner}); "
        "the exchange should have refused it. The sync stopped: report this to the data authority",
    ),
    "sync.no_exchange": (
        "尚未设置交换平台地址：请用 --exchange 指定",
        "No exchange address is set: give one with --exchange",
    ),
    "sync.awaiting_approval": (
        "本工作区的密钥 {key_id} 已申请注册，正在等待交换平台管理员批准；批准后即可同步",
        "This workspace's key {key_id} asked to be enrolled and waits for the exchange's administrator to approve "
        "it; once approved, syncing works",
    ),
    "sync.enrollment_declined": (
        "交换平台管理员拒绝了密钥 {key_id} 的注册申请：请与管理员联系",
        "The exchange's administrator declined the enrollment of key {key_id}: contact the administrator",
    ),
    # Department profiles and joining an exchange with one (steward/sync/profile.py, joining.py)
    "profile.unreadable": ("无法读取接入配置文件 {path}：{reason}", "The profile {path} cannot be read: {reason}"),
    "profile.invalid": ("{path} 不是有效的接入配置文件：{reason}", "{path} is not a valid profile: {reason}"),
    "profile.bad_signature": (
        "接入配置文件 {path} 的签名无法验证：文件已损坏或被改动，请向交换平台管理员重新索取",
        "The signature of the profile {path} does not verify: the file is damaged or was changed. Ask the "
        "exchange's administrator for it again",
    ),
    "profile.other_department": (
        "该工作区属于 {department}，而接入配置文件是 {profile} 的",
        "This workspace belongs to {department}, but the profile is for {profile}",
    ),
    "profile.other_exchange": (
        "该工作区已绑定另一个交换平台（{url}，密钥指纹 {pinned}），不接受另一平台（密钥指纹 {offered}）的接入配置文件",
        "This workspace is bound to another exchange ({url}, key fingerprint {pinned}); it refuses a profile of "
        "another exchange (key fingerprint {offered})",
    ),
    "profile.exchange_mismatch": (
        "{url} 上的交换平台（密钥指纹 {offered}）不是接入配置文件所指的平台（密钥指纹 {expected}），未发送注册申请",
        "The exchange at {url} (key fingerprint {offered}) is not the one the profile names (key fingerprint "
        "{expected}); no enrollment request was sent",
    ),
    "join.sent": (
        "已为 {department} 创建工作区 {path}，并向 {url} 发送密钥 {key_id} 的注册申请。\n"
        "指纹：{fingerprint}\n正在等待交换平台管理员批准；批准后即可同步",
        "Made the workspace {path} for {department} and sent the enrollment request of key {key_id} to {url}.\n"
        "Fingerprint: {fingerprint}\nIt waits for the exchange's administrator to approve it; then syncing works",
    ),
    "join.enrolled": (
        "工作区 {path} 的密钥 {key_id} 已在 {url} 注册，可以同步",
        "The key {key_id} of the workspace {path} is enrolled at {url}: syncing works",
    ),
    "join.refused": (
        "密钥 {key_id} 在 {url} 的状态为“{status}”，不能再次申请：请与交换平台管理员联系",
        "The key {key_id} is {status} at {url} and cannot ask again: contact the exchange's administrator",
    ),
    "sync.not_enrolled": (
        "交换平台不认可本工作区的密钥 {key_id}：请先把公钥（steward keys export）交平台管理员登记",
        "The exchange does not accept this workspace's key {key_id}: have its public key (steward keys export) "
        "enrolled by the exchange's administrator first",
    ),
    "sync.trust_prompt": ("信任此指纹吗？（输入 yes 确认）", "Trust this fingerprint? (type yes to confirm)"),
    "sync.cancelled": (
        "同步已取消：已完成的部分已保存，下次同步继续",
        "Sync cancelled: what was finished is kept, the next sync continues",
    ),
    # Sharing requests (共享申请): why a step is refused (docs/protocol.md § 3a)
    "request.invalid": (
        "共享申请的处理步骤不符合格式：{problems}",
        "The sharing request's step does not follow the format: {problems}",
    ),
    "request.blank": ("{what}不能为空，也不能只有空格", "{what} cannot be empty or only spaces"),
    "request.conditions_without_grant": (
        "只有同意共享时才能附加共享条件",
        "Conditions go only with a grant, not with a refusal",
    ),
    "request.key_unknown": ("密钥 {key_id} 未登记", "Key {key_id} is not enrolled"),
    "request.bad_signature": (
        "处理步骤的签名无法用密钥 {key_id} 验证",
        "The step's signature does not verify with key {key_id}",
    ),
    "request.not_exchange": (
        "{step}只能由数据主管部门（交换平台的密钥）签署，不能由部门 {department} 的密钥 {key_id} 签署",
        "Only the data authority (the exchange's key) may sign this step ({step}), not key {key_id} of "
        "department {department}",
    ),
    "request.exchange_key": (
        "交换平台的密钥不能代表部门签署{step}",
        "The exchange's key cannot sign this step ({step}) for a department",
    ),
    "request.wrong_department": (
        "密钥 {key_id} 属于部门 {key_department}，不能代表部门 {department} 签署",
        "Key {key_id} belongs to department {key_department}, not to department {department}",
    ),
    "request.unknown": ("没有编号为 {request_id} 的共享申请", "There is no sharing request {request_id}"),
    "request.exists": ("编号为 {request_id} 的共享申请已经存在", "A sharing request {request_id} exists already"),
    "request.replayed": (
        "第 {seq} 步已经记录过，不能重复提交",
        "Step {seq} was recorded already: it cannot be sent again",
    ),
    "request.out_of_order": (
        "处理步骤次序不对：收到第 {seq} 步，应为第 {expected} 步并接在上一步之后",
        "Step out of order: step {seq} arrived where step {expected}, following the last one, was expected",
    ),
    "request.own_entry": (
        "不能申请共享本部门的资源“{entry_code}”",
        "A department cannot request its own resource “{entry_code}”",
    ),
    "request.not_requester": (
        "只有使用部门（{requester}）才能{step}，部门 {department} 不能",
        "Only the using department ({requester}) may sign this step ({step}), not department {department}",
    ),
    "request.not_provider": (
        "只有提供部门（{provider}）才能答复此申请，部门 {department} 不能",
        "Only the providing department ({provider}) may answer this request, not department {department}",
    ),
    "request.entry_unknown": ("没有编号为 {entry_id} 的目录条目", "There is no catalogue entry {entry_id}"),
    "request.provider_mismatch": (
        "资源“{entry_code}”的提供部门是 {department}，不是申请中写的 {provider}",
        "The provider of resource “{entry_code}” is {department}, not {provider} as the request says",
    ),
    "request.entry_retired": (
        "资源“{entry_code}”已停用，不能申请共享",
        "Resource “{entry_code}” is retired: it cannot be requested",
    ),
    "request.not_shared": (
        "资源“{entry_code}”不予共享，不能申请：其法律或政策依据见共享条件",
        "Resource “{entry_code}” is not shared and cannot be requested: its sharing conditions give the legal or "
        "policy basis",
    ),
    "request.item_unknown": (
        "资源“{entry_code}”没有信息项 {item_id}",
        "Resource “{entry_code}” has no data item {item_id}",
    ),
    "request.item_not_shared": (
        "资源“{entry_code}”的信息项 {item_id} 不予共享",
        "Data item {item_id} of resource “{entry_code}” is not shared",
    ),
    "request.until_past": (
        "使用截止日期 {until} 已过（今天是 {today}）",
        "The end date {until} has passed (today is {today})",
    ),
    "request.review_pending": (
        "合规审查通过之前不能答复此申请",
        "The request cannot be answered before it passes the compliance check",
    ),
    "request.already_decided": ("此申请已经答复过", "This request was answered already"),
    "request.withdrawn": ("此申请已撤回", "This request was withdrawn"),
    "request.settled": (
        "此申请已办结（{status}），不能再处理",
        "This request is settled ({status}): nothing may follow",
    ),
    "request.already_reviewed": ("此申请已经审查过", "This request was checked already"),
    "request.answered": ("此申请已有答复，不能撤回", "This request was answered: it cannot be withdrawn"),
    "request.not_refused": (
        "只有被提供部门拒绝的申请才能申请协调",
        "Only a request the provider refused can be escalated",
    ),
    "request.not_escalated": (
        "此申请未申请协调，没有协调结果可记录",
        "This request was not escalated: there is no outcome to record",
    ),
    "sharing.not_here": (
        "本工作区没有编号为 {request_id} 的共享申请（请先同步）",
        "This workspace knows no sharing request {request_id} (sync first?)",
    ),
    "sharing.item_not_here": (
        "条目 {entry_code} 没有名为或编号为“{item}”的信息项",
        "Entry {entry_code} has no data item named or numbered “{item}”",
    ),
    "request.member.purpose": ("用途", "The purpose"),
    "request.member.scenario": ("应用场景", "The scenario"),
    "request.member.reason": ("理由", "The reason"),
    "request.member.reviewer": ("审查人", "The reviewer"),
    "request.kind.request": ("共享申请", "request"),
    "request.kind.review": ("合规审查", "compliance review"),
    "request.kind.decision": ("答复", "decision"),
    "request.kind.escalation": ("申请协调", "escalation"),
    "request.kind.outcome": ("协调结果", "outcome"),
    "request.kind.withdrawal": ("撤回申请", "withdrawal"),
    "request.status.submitted": ("待审查", "awaiting the compliance check"),
    "request.status.awaiting_decision": ("待提供部门答复", "awaiting the provider's answer"),
    "request.status.granted": ("已获准共享", "granted"),
    "request.status.approved": ("提供部门已同意", "approved by the provider"),
    "request.status.refused": ("提供部门已拒绝", "refused by the provider"),
    "request.status.escalated": ("协调中", "escalated"),
    "request.status.denied": ("协调后不予共享", "denied after escalation"),
    "request.status.rejected": ("审查未通过", "rejected by the compliance check"),
    "request.status.withdrawn": ("已撤回", "withdrawn"),
    "request.status.expired": ("已到期", "expired"),
    "cli.synced": (
        "同步完成：拉取 {pulled} 个变更集，推送 {pushed} 个（{operations} 项操作），"
        "确认 {confirmed} 个，新冲突 {conflicts} 个",
        "Synced: pulled {pulled} changesets, pushed {pushed} ({operations} operations), confirmed {confirmed}, "
        "{conflicts} new conflicts",
    ),
    "cli.held_back": ("暂未发送 {count} 个条目：{reasons}", "{count} entries held back: {reasons}"),
    "held.errors": ("存在错误", "rule errors"),
    "held.conflict": ("有未解决的冲突", "unresolved conflicts"),
    "held.provider": ("提供方不是本部门", "another department is named as provider"),
    "held.refused": ("交换平台拒收", "refused by the exchange"),
    "held.refused_because": ("交换平台拒收：{reason}", "refused by the exchange: {reason}"),
    "cli.refused_entry": (
        "{code}：交换平台拒收：{reason}（修改该条目后，下次同步会再次发送）",
        "{code}: refused by the exchange: {reason} (sent again by the next sync once the entry is edited)",
    ),
    "cli.refused": (
        "交换平台拒绝了变更集 {changeset}：{message}",
        "The exchange refused changeset {changeset}: {message}",
    ),
    "history.pending": ("未同步", "not synced"),
    "history.synced": ("已同步", "synced"),
    "history.merged": ("已合并：平台已有相同的值", "merged: the exchange had the same value"),
    "history.superseded": ("已被取代：平台保留了 {value}", "superseded: the exchange kept {value}"),
    "cli.no_conflicts": ("没有未解决的冲突", "No unresolved conflicts"),
    "conflict.mine": ("本地", "mine"),
    "conflict.theirs": ("平台", "theirs"),
    "status.unsynced": ("未同步条目", "Unsynced entries"),
    "status.conflicts": ("未解决冲突", "Unresolved conflicts"),
    "status.waiting": ("待确认的变更集", "Changesets awaiting an answer"),
    "status.last_sync": ("上次同步", "Last sync"),
    "status.exchange": ("交换平台", "Exchange"),
    "status.exchange_key": ("平台密钥指纹", "Exchange key fingerprint"),
    "status.key_id": ("本人密钥", "Steward key"),
    "status.position": ("已同步到处理记录", "Synced up to record"),
    "cli.resolved": ("已解决条目 {code} 的冲突", "Resolved the conflicts of entry {code}"),
    "cli.request_signed": (
        "已签署{step}（申请 {request_id}），将在下次同步时发送",
        "Signed the {step} (request {request_id}); it is sent at the next sync",
    ),
    "cli.request_row": (
        "{due}  {status}  {request_id}  {entry_code}  {requester} 向 {provider} 申请：{purpose}",
        "{due}  {status}  {request_id}  {entry_code}  {requester} → {provider}  {purpose}",
    ),
    # A department by its name, with the code that identifies it beside it; alone, or inside parentheses.
    "cli.department": ("{name}（{code}）", "{name} ({code})"),
    "cli.department_inside": ("{name}，{code}", "{name}, {code}"),
    "cli.request_due": ("{due}（剩 {days} 个工作日）", "{due} ({days} working days left)"),
    "cli.request_overdue": ("{due}（已逾期 {days} 个工作日）", "{due} (overdue by {days} working days)"),
    "cli.no_requests": ("没有共享申请", "No sharing requests"),
    "cli.request_header": (
        "共享申请 {request_id}：{status}\n条目：{entry_code}  提供部门：{provider}  申请部门：{requester}\n"
        "用途：{purpose}\n应用场景：{scenario}\n信息项：{items}\n共享至：{until}  答复期限：{due}",
        "Sharing request {request_id}: {status}\nEntry: {entry_code}  provided by: {provider}  "
        "requested by: {requester}\n"
        "Purpose: {purpose}\nScenario: {scenario}\nData items: {items}\nUntil: {until}  answer due: {due}",
    ),
    "cli.request_trail": ("签署记录：", "Signed trail:"),
    "cli.trail_step": (
        "  {seq}、{kind}  {signer}（{who}）  {when}  {verified}{details}",
        "  {seq}. {kind}  {signer} ({who})  {when}  {verified}{details}",
    ),
    "cli.trail_authority": ("数据主管部门", "the data authority"),
    "cli.trail_verified": ("已验证", "verified"),
    "cli.trail_unsent": ("未发送", "not sent yet"),
    "cli.trail_refused": ("被交换平台拒绝：{reason}", "refused by the exchange: {reason}"),
    "cli.trail_waiting": ("等待平台答复", "awaiting the exchange's answer"),
    "request.status.unsent": ("未发送", "not sent yet"),
    # The exchange's administration (steward-exchange)
    "exchange.serving": (
        "交换平台运行于 {url}（数据库 {db}）\n平台密钥指纹：{fingerprint}",
        "Exchange serving at {url} (database {db})\nExchange key fingerprint: {fingerprint}",
    ),
    "exchange.department_added": ("已登记部门 {code} {name}", "Registered department {code} {name}"),
    "exchange.enrolled": (
        "已为部门 {department} 登记密钥 {key_id}\n指纹：{fingerprint}",
        "Enrolled key {key_id} for department {department}\nFingerprint: {fingerprint}",
    ),
    "exchange.department_mismatch": (
        "公钥文件属于部门 {declared}，不能登记到部门 {department}",
        "The public key file belongs to department {declared}, not {department}",
    ),
    "exchange.revoked": ("已吊销密钥 {key_id}", "Revoked key {key_id}"),
    "exchange.profile_written": (
        "已写出部门 {code} 的接入配置文件 {path}（平台地址 {url}）：交给该部门的数据管理员，用 steward join 或"
        "“文件 ▸ 打开接入配置…”打开",
        "Wrote the profile of department {code} to {path} (exchange {url}): give it to the department's steward, "
        "who opens it with steward join or File ▸ Open profile…",
    ),
    "exchange.log_sound": (
        "处理记录完整：签名、哈希链与目录均一致",
        "The log is sound: signatures, hash chain and catalogue agree",
    ),
    "exchange.log_unsound": ("处理记录发现 {count} 处问题", "The log has {count} problems"),
    "exchange.database_failed": ("无法使用数据库：{reason}", "The database cannot be used: {reason}"),
    # {refused}: exchange.not_started (serve) or exchange.nothing_changed (a shell command that signs)
    "exchange.key_missing": (
        "数据库 {db} 使用平台密钥 {fingerprint}，但密钥文件 {path} 不存在，{refused}。"
        "请用 --key-file 指定该密钥文件；更换平台密钥须明确运行 steward-exchange rotate-key",
        "The database {db} is served with exchange key {fingerprint}, but the key file {path} does not exist, "
        "so {refused}. Name that key's file with --key-file; changing the exchange's key "
        "needs steward-exchange rotate-key",
    ),
    "exchange.key_missing_unrecorded": (
        "数据库 {db} 此前已对外服务，但密钥文件 {path} 不存在，{refused}：请用 --key-file 指定原平台密钥文件",
        "The database {db} has been served before, but the key file {path} does not exist, so {refused}: "
        "name the exchange's key file with --key-file",
    ),
    "exchange.key_differs": (
        "密钥文件 {path} 中的平台密钥（{offered}）不是数据库 {db} 使用的密钥（{recorded}），{refused}。"
        "请用 --key-file 指定正确的密钥文件；更换平台密钥须明确运行 steward-exchange rotate-key",
        "The key file {path} holds exchange key {offered}, but the database {db} is served with {recorded}, "
        "so {refused}. Name the right key file with --key-file; changing the exchange's key "
        "needs steward-exchange rotate-key",
    ),
    "exchange.not_started": ("未启动", "the exchange did not start"),
    "exchange.nothing_changed": ("未作任何更改，也未记录", "nothing was changed or recorded"),
    "exchange.key_rotated": (
        "已更换平台密钥：原指纹 {old}，新指纹 {new}（更换声明已由原密钥签署并记入数据库）。"
        "今后请以 --key-file {path} 启动交换平台",
        "Rotated the exchange key: old fingerprint {old}, new fingerprint {new} (the statement, signed by the "
        "old key, is recorded in the database). From now on serve with --key-file {path}",
    ),
    "exchange.review_row": (
        "{request_id}  {status}  {requester} 向 {provider} 申请 {entry_code}  期限：{due}  用途：{purpose}",
        "{request_id}  {status}  {requester} asks {provider} for {entry_code}  due: {due}  purpose: {purpose}",
    ),
    "exchange.review_none": ("没有待审查或待协调的共享申请", "No sharing request waits for a review or an outcome"),
    "exchange.review_recorded": (
        "已记入共享申请 {request_id} 的处理记录（第 {position} 条）：{status}；答复期限：{due}",
        "Recorded for sharing request {request_id} (log position {position}): {status}; answer due: {due}",
    ),
    # The console's accounts (steward-exchange admin; exchange/accounts.py)
    "account.name_invalid": (
        "账户名“{name}”无效：须为 1 至 {limit} 个字符，不含控制字符或空白以外的分隔符",
        "The account name “{name}” is not valid: 1 to {limit} characters, no control or separator characters",
    ),
    "account.password_short": ("密码太短：至少需要 {minimum} 个字符", "The password is too short: at least {minimum} "
                               "characters are needed"),
    "account.exists": ("账户 {name} 已存在", "The account {name} exists already"),
    "account.unknown": ("没有账户 {name}", "There is no account {name}"),
    "account.password_prompt": ("账户 {name} 的密码：", "Password for {name}:"),
    "account.password_again": ("再输入一次：", "Again:"),
    "account.password_mismatch": ("两次输入的密码不一致", "The two passwords differ"),
    "account.password_missing": (
        "没有终端可以输入密码：请用 --password-stdin 从标准输入提供",
        "No terminal to type the password on: give it on standard input with --password-stdin",
    ),
    "account.added": ("已添加账户 {name}（{role}）", "Added the account {name} ({role})"),
    "account.password_set": ("已为账户 {name} 设置新密码，锁定已解除", "Set a new password for {name}; "
                             "any lock is lifted"),
    "account.disabled": ("已停用账户 {name}，其会话已结束", "Disabled the account {name}; its sessions ended"),
    "account.totp_on": (
        "已为账户 {name} 开启动态口令。请用身份验证器应用扫描或输入：\n{uri}",
        "Turned on one-time codes for {name}. Scan or type this into an authenticator app:\n{uri}",
    ),
    "account.role.admin": ("管理员", "administrator"),
    "account.role.reviewer": ("审核员", "reviewer"),
    "storage.keyring": ("系统密钥环", "system keyring"),
    "storage.file": ("口令加密的密钥文件", "passphrase-encrypted key file"),
    # The holiday arrangement and the deadline policy the exchange publishes (steward/sync/working_days.py)
    "calendar.override": ("节假日安排", "The holiday arrangement"),
    "calendar.policy": ("办理时限设置", "The deadline policy"),
    "calendar.top_level": ("顶层", "the top level"),
    "calendar.place": ("{pointer} 处", "{pointer}"),
    "calendar.not_json": ("{document}不是有效的 JSON：{reason}", "{document} is not valid JSON: {reason}"),
    "calendar.not_document": ("{document}有误：应为 JSON 对象", "{document} is not valid: it must be a JSON object"),
    "calendar.duplicate_key": (
        "{document}有误：同一对象中“{key}”出现了不止一次",
        "{document} is not valid: “{key}” appears more than once in one object",
    ),
    "calendar.format": (
        "{document}有误：格式（format）应为“{expected}”，而不是“{value}”",
        "{document} is not valid: its format must be “{expected}”, not “{value}”",
    ),
    "calendar.not_object": (
        "{document}有误：{where}应为 JSON 对象", "{document} is not valid: {where} must be a JSON object",
    ),
    "calendar.missing_key": ("{document}有误：{where}缺少“{key}”", "{document} is not valid: {where} lacks “{key}”"),
    "calendar.unknown_key": (
        "{document}有误：{where}有未知的“{key}”",
        "{document} is not valid: {where} holds “{key}”, which is not known",
    ),
    "calendar.year_invalid": (
        "{document}有误：“{value}”不是年份（应为四位数字，如 2027）",
        "{document} is not valid: “{value}” is not a year (four digits, e.g. 2027)",
    ),
    "calendar.not_list": (
        "{document}有误：{where}应为日期列表", "{document} is not valid: {where} must be a list of dates",
    ),
    "calendar.date_invalid": (
        "{document}有误：{where}的“{value}”不是日期（应为 YYYY-MM-DD，如 2027-10-01）",
        "{document} is not valid: “{value}” at {where} is not a date (YYYY-MM-DD, e.g. 2027-10-01)",
    ),
    "calendar.date_other_year": (
        "{document}有误：{where}的日期 {value} 不在 {year} 年",
        "{document} is not valid: the date {value} at {where} is not in {year}",
    ),
    "calendar.date_repeated": (
        "{document}有误：{where}的日期 {value} 在同一列表中已出现过",
        "{document} is not valid: the date {value} at {where} is already in the same list",
    ),
    "calendar.date_both": (
        "{document}有误：{value} 既列为节假日，又列为调休上班日",
        "{document} is not valid: {value} is listed both as a holiday and as a make-up working day",
    ),
    "calendar.days_invalid": (
        "{document}有误：{where}应为 1 到 {limit} 之间的整数（工作日数），而不是 {value}",
        "{document} is not valid: {where} must be a whole number of working days from 1 to {limit}, not {value}",
    ),
    # Import (steward/sheets.py, steward/importer.py): files that cannot be used at all
    "import.unreadable": ("无法读取“{path}”：{reason}", "Cannot read “{path}”: {reason}"),
    "import.empty": ("“{path}”是空文件，没有可导入的内容", "“{path}” is empty: there is nothing to import"),
    "import.not_spreadsheet": (
        "“{path}”不是 Excel 工作簿（.xlsx）或 CSV 文件",
        "“{path}” is not an Excel workbook (.xlsx) or a CSV file",
    ),
    "import.legacy_xls": (
        "“{path}”是旧版 Excel 文件（.xls）：请在 Excel 或 WPS 中另存为 .xlsx 后再导入",
        "“{path}” is an old Excel file (.xls): save it as .xlsx in Excel or WPS, then import that",
    ),
    "import.encrypted": (
        "“{path}”设有打开密码：请在 Excel 或 WPS 中取消密码并保存后再导入",
        "“{path}” is password-protected: remove the password in Excel or WPS, save, and import again",
    ),
    "import.corrupt": (
        "“{path}”已损坏，无法读取（{reason}）",
        "“{path}” is damaged and cannot be read ({reason})",
    ),
    "import.encoding": (
        "无法识别“{path}”的文字编码：应为 UTF-8 或 GBK/GB18030",
        "The text encoding of “{path}” is not recognised: it must be UTF-8 or GBK/GB18030",
    ),
    "import.no_tables": (
        "“{path}”中没有资源目录表或信息项表：表头中须有“信息资源代码”列",
        "“{path}” holds no catalogue or data item table: the header row must have a 信息资源代码 column",
    ),
    "import.no_rows": (
        "“{path}”中没有数据行，没有可导入的内容",
        "“{path}” has no data rows: there is nothing to import",
    ),
    "import.no_header": (
        "找不到表头：前 {rows} 行中没有“信息资源代码”列",
        "No header row: none of the first {rows} rows has a 信息资源代码 (resource code) column",
    ),
    "import.missing_column": ("缺少“{column}”列", "The column “{column}” is missing"),
    "import.merged_header": (
        "表头中有合并单元格 {range}：表头须是一行，每列一个字段名",
        "The header row has merged cells {range}: the header must be one row with one field name per column",
    ),
    "import.duplicate_column": (
        "“{header}”列出现了两次（{first} 列和 {second} 列）",
        "The column “{header}” appears twice (columns {first} and {second})",
    ),
    "import.refused": (
        "{rows} 行有错误，未导入任何内容",
        "{rows} rows have errors: nothing was imported",
    ),
    # Import: one column, row or cell
    "import.unknown_column": (
        "“{header}”不是模板中的字段，这一列已忽略",
        "“{header}” is not a template field: the column was ignored",
    ),
    "import.merged_cells": (
        "合并单元格 {range} 跨越多列：请取消合并后再导入",
        "The merged cells {range} span several columns: unmerge them and import again",
    ),
    "import.cell_error": ("单元格的值是错误值 {value}", "The cell holds the error value {value}"),
    "import.formula": (
        "单元格是没有计算结果的公式 {formula}：请在 Excel 或 WPS 中打开并保存，或复制后“粘贴为数值”",
        "The cell is a formula without a computed value ({formula}): open and save the file in Excel or WPS, "
        "or paste the values",
    ),
    "import.undecodable": (
        "这一行有不是 {encoding} 编码的字节，无法读取；请检查文件的编码",
        "This row has bytes that are not valid {encoding}: check the file's encoding",
    ),
    "import.code_missing": (
        "没有信息资源代码，无法对应到条目",
        "No resource code: the row cannot be matched to an entry",
    ),
    "import.required": ("{field}不能为空", "{field} is required"),
    "import.vocab": (
        "“{value}”不是{field}的取值（可选：{choices}）",
        "“{value}” is not a value of {field} (allowed: {choices})",
    ),
    "import.date": (
        "“{value}”不是有效日期：应为 YYYY-MM-DD，如 2024-03-01",
        "“{value}” is not a valid date: write YYYY-MM-DD, e.g. 2024-03-01",
    ),
    "import.int": ("{field}“{value}”不是整数", "{field}: “{value}” is not a whole number"),
    "import.too_long": (
        "单元格有 {length} 个字符，超过 Excel 单元格最多 {limit} 个字符的限制：请缩短后再导入",
        "The cell holds {length} characters, more than the {limit} an Excel cell can hold: shorten it and import "
        "again",
    ),
    "import.duplicate_code": (
        "信息资源代码“{value}”在文件中出现了多次（第 {rows} 行）",
        "The resource code “{value}” appears more than once in the file (rows {rows})",
    ),
    "import.unknown_entry": (
        "信息资源代码“{value}”在资源目录表和工作区中都找不到",
        "The resource code “{value}” is neither in the catalogue sheet nor in the workspace",
    ),
    "import.ambiguous": (
        "工作区中有多个条目使用信息资源代码“{value}”，无法确定更新哪一个",
        "Several entries in the workspace use the resource code “{value}”: it is unclear which to update",
    ),
    "import.with_entry": (
        "所属条目（{sheet} 第 {row} 行）有错误，这一行一并未导入",
        "Its entry ({sheet} row {row}) has errors, so this row was not imported either",
    ),
    "import.items_follow": (
        "它的 {count} 个信息项行（{sheet} 第 {rows} 行）一并未导入",
        "Its {count} data item rows ({sheet} rows {rows}) were not imported either",
    ),
    "import.with_items": (
        "同一条目的其他行有错误（{sheet} 第 {rows} 行），整个条目未导入",
        "Other rows of this entry have errors ({sheet} rows {rows}), so the whole entry was not imported",
    ),
    # Import: a problem of many rows, told once for the sheet ({message} is the rule's own)
    "import.column_absent": (
        "表中没有“{column}”列（涉及 {count} 行：第 {rows} 行）：{message}",
        "The sheet has no “{column}” column ({count} rows: {rows}): {message}",
    ),
    "import.item_sheet_absent": (
        "导入的文件中没有信息项表（涉及 {count} 行：第 {rows} 行）：{message}",
        "The files have no data item sheet ({count} rows: {rows}): {message}",
    ),
    # Import: where a problem is, and what the import records
    "import.where_sheet": ("{sheet} 表", "sheet {sheet}"),
    "import.where_row": ("{sheet} 第 {row} 行", "{sheet} row {row}"),
    "import.where_column": ("{sheet} {column} 列（{header}）", "{sheet} column {column} ({header})"),
    "import.where_cell": (
        "{sheet} 第 {row} 行 {column} 列（{header}）", "{sheet} row {row}, column {column} ({header})"
    ),
    "import.at": ("{where}：{message}", "{where}: {message}"),
    "import.reason": ("导入 {file}", "Imported from {file}"),
    # Export
    "export.format": (
        "无法从“{path}”判断导出格式：请用 --format 指定 xlsx、csv、dcat 或 datajson",
        "Cannot tell the export format from “{path}”: name it with --format xlsx, csv, dcat or datajson",
    ),
    "export.failed": ("无法写入“{path}”：{reason}", "Cannot write “{path}”: {reason}"),
    "export.cell_too_long": (
        "条目 {entry} 的“{field}”有 {length} 个字符，超过 Excel 单元格最多 {limit} 个字符的限制，Excel 打开时会截断，"
        "因此未导出：请缩短它，或导出为 CSV（没有这个限制）",
        "“{field}” of entry {entry} holds {length} characters, more than the {limit} an Excel cell can hold: Excel "
        "would cut it short, so nothing was exported. Shorten it, or export to CSV, which has no such limit",
    ),
    "template.not_xlsx": (
        "“{path}”不是 .xlsx 文件名：编目模板是 Excel 工作簿，请用以 .xlsx 结尾的文件名",
        "“{path}” is not an .xlsx name: the catalogue template is an Excel workbook, so name it FILE.xlsx",
    ),
    "export.base_uri": (
        "“{value}”不是以 http:// 或 https:// 开头、以 / 结尾的地址",
        "“{value}” is not an address starting with http:// or https:// and ending with /",
    ),
    "export.license": ("“{value}”不是 http:// 或 https:// 地址", "“{value}” is not an http:// or https:// address"),
    "dcat.catalogue_title": ("{department}政务数据资源开放目录", "Open data catalogue of {department}"),
    "dcat.catalogue_description": (
        "{department}在政务数据资源目录中登记的、开放属性为无条件开放或有条件开放的数据资源",
        "The data resources {department} registered in the government data resource catalogue as open "
        "(unconditionally or on conditions)",
    ),
    "dcat.distribution": ("{method}提供，格式：{format}", "Provided by {method}; format: {format}"),
    "dcat.distribution_unknown": ("格式：{format}", "Format: {format}"),
    # Command-line output
    "cli.created": ("已创建工作区 {path}（{department}）", "Created workspace {path} ({department})"),
    "cli.sampled": ("已生成 {count} 个示例条目", "Generated {count} sample entries"),
    "cli.valid": (
        "{entries} 个条目均无错误（{warnings} 个警告）", "{entries} entries, no errors ({warnings} warnings)"
    ),
    "cli.invalid": (
        "{entries} 个条目中有 {bad} 个存在错误：共 {errors} 个错误、{warnings} 个警告",
        "{bad} of {entries} entries have errors: {errors} errors, {warnings} warnings",
    ),
    "cli.found": ("共找到 {total} 个条目", "{total} entries found"),
    "cli.set": ("已修改 {count} 处（{code}）", "{count} changes made ({code})"),
    "cli.unchanged": ("没有变化", "Nothing changed"),
    "cli.no_pending": ("没有未同步的修改", "No unsynced changes"),
    "preview.summary": (
        "本次同步将发布 {appearing} 个数据集，撤下 {withdrawn} 个，更改 {changed} 个",
        "This sync will publish {appearing} datasets, withdraw {withdrawn} and change {changed}",
    ),
    "preview.held_summary": (
        "{held} 个条目的修改会改变公开的目录，但本次同步不发送",
        "{held} entries would change what the public sees, but this sync does not send them",
    ),
    "preview.nothing": ("本次同步不会改变公开的目录", "This sync changes nothing the public sees"),
    "preview.appears": ("发布", "published"),
    "preview.withdrawn": ("撤下（{reason}）", "withdrawn ({reason})"),
    "preview.changed": ("更改", "changed"),
    "preview.held": ("不发送（{reason}），不会发布", "not sent ({reason}), not published"),
    "preview.held_still_public": (
        "不发送（{reason}），公众仍看到上次同步的版本",
        "not sent ({reason}): the public keeps the last synced version",
    ),
    "preview.reason.closed": ("不再开放", "no longer open"),
    "preview.reason.retired": ("已停用", "retired"),
    "preview.reason.rule_errors": ("存在错误", "rule errors"),
    "preview.reason.conflict": ("有未解决的冲突", "an unresolved conflict"),
    "preview.reason.provider": ("提供方不是本部门", "another department named as provider"),
    "preview.item_added": ("信息项“{name}”加入公开的信息项", "data item “{name}” joins the published schema"),
    "preview.item_removed": ("信息项“{name}”不再公开", "data item “{name}” leaves the published schema"),
    "preview.item_field": ("信息项“{name}”的{label}", "{label} of data item “{name}”"),
    "cli.template_written": ("已写出编目模板 {path}", "Catalogue template written to {path}"),
    "cli.import_summary": (
        "读取条目 {entries} 行、信息项 {items} 行：新建 {created} 个条目，更新 {updated} 个，无变化 {unchanged} 个，"
        "未导入 {rejected} 行",
        "Read {entries} entry rows and {items} data item rows: {created} entries new, {updated} updated, "
        "{unchanged} unchanged, {rejected} rows rejected",
    ),
    "cli.import_problems": ("{errors} 个错误、{warnings} 个警告", "{errors} errors, {warnings} warnings"),
    "cli.import_done": (
        "已导入：{operations} 处修改，作为一步记录，可撤销，下次同步时提交",
        "Imported: {operations} changes recorded as one step (undoable, sent with the next sync)",
    ),
    "cli.import_nothing": ("没有需要导入的修改", "Nothing to import: the workspace already holds these values"),
    "cli.import_dry_run": ("试运行：工作区未做任何修改", "Dry run: the workspace was not changed"),
    "cli.import_refused": (
        "{rows} 行有错误，工作区未做任何修改；改正后重新导入，或用 --skip-invalid 只导入无误的行",
        "{rows} rows have errors, so the workspace was not changed; fix them and import again, "
        "or use --skip-invalid to import the valid rows only",
    ),
    "cli.import_refused_rules": (
        "其中 {count} 个条目只是不符合目录规则：用 --keep-errors 可将它们作为草稿导入，改正前不会同步",
        "{count} of these entries only break catalogue rules: --keep-errors imports them as drafts, which are not "
        "synced until fixed",
    ),
    "cli.import_held_back": (
        "{count} 个条目带着错误导入，作为草稿保留：改正前不会同步（steward validate 列出这些错误）",
        "{count} entries were imported with their errors, as drafts: they are not synced until fixed "
        "(steward validate lists the errors)",
    ),
    "cli.import_rejected_file": (
        "未导入的 {rows} 行及其原因已写入 {path}，改正后可再次导入",
        "The {rows} rejected rows and their reasons are in {path}: fix them there and import that file",
    ),
    "cli.exported": ("已导出 {count} 个条目到 {path}", "Exported {count} entries to {path}"),
    "cli.export_skipped_uncoded": (
        "{count} 个条目没有信息资源代码，未导出",
        "{count} entries have no resource code and were left out",
    ),
    "cli.export_skipped_errors": (
        "{count} 个条目违反编目规则，未导出：{codes}（steward validate 列出其中的问题）",
        "{count} entries break catalogue rules and were left out: {codes} (steward validate lists the problems)",
    ),
    "cli.template_folder": (
        "“{path}”是文件夹：请给出要写入的文件名，如 {example}",
        "“{path}” is a folder: name the file to write, e.g. {example}",
    ),
    "cli.os_error": ("无法使用“{path}”：{reason}", "Cannot use “{path}”: {reason}"),
    "cli.entry_ids": (
        "条目 ID：{id}　版本：{version}　修订：{revision}",
        "id: {id}  version: {version}  revision: {revision}",
    ),
    "cli.bad_integer": ("“{value}”不是整数", "“{value}” is not a whole number"),
    "op.create": ("新建", "create"),
    "op.set": ("修改", "set"),
    "op.retire": ("停用", "retire"),
    "op.restore": ("恢复", "restore"),
    "op.item_add": ("添加信息项", "add item"),
    "op.item_set": ("修改信息项", "change item"),
    "op.item_remove": ("删除信息项", "remove item"),
    "op.erase": ("删除", "erase"),
    "cli.export_skipped_closed": (
        "{count} 个条目不予开放、开放属性未填、不予共享或已停用，未导出",
        "{count} entries were left out: not open, open attribute not set, not shared, or retired",
    ),
    "cli.internal": (
        "内部错误：{error}（设置 STEWARD_DEBUG=1 可查看详细信息）",
        "Internal error: {error} (set STEWARD_DEBUG=1 for details)",
    ),
    "cli.interrupted": (
        "已中断：已完成的部分已保存，工作区保持一致",
        "Interrupted: what was finished is saved and the workspace is consistent",
    ),
    "gui.unavailable": (
        "无法启动窗口界面：{error}（请安装 PySide6-Essentials）",
        "The window cannot start: {error} (install PySide6-Essentials)",
    ),
    "gui.no_display": (
        "没有可用的显示器，改为显示默认工作区摘要；在桌面环境中运行 steward 可打开窗口",
        "No display available: showing the default workspace's summary instead; "
        "run steward on a desktop for the window",
    ),
    "summary.title": ("工作区 {path}", "Workspace {path}"),
    "summary.department": ("部门：{name}（{code}）", "Department: {name} ({code})"),
    "summary.counts": (
        "条目 {entries} 个（停用 {retired} 个），信息项 {items} 个",
        "{entries} entries ({retired} retired), {items} data items",
    ),
    "summary.problems": (
        "有错误的条目 {errors} 个，仅有警告的 {warnings} 个，未同步 {unsynced} 个",
        "{errors} entries with errors, {warnings} with warnings only, {unsynced} unsynced",
    ),
    "summary.by": ("{vocabulary}:{counts}", "{vocabulary}: {counts}"),
    # The command line's help (steward --help, steward COMMAND --help)
    "help.steward": (
        "Steward：维护本部门在政务数据资源目录中的条目。",
        "Steward: keep a department's entries in the data catalogue.",
    ),
    "help.command": ("命令", "COMMAND"),
    "help.version": ("显示版本号并退出", "show the version and exit"),
    "help.dir": ("工作区文件夹", "the workspace's folder"),
    "help.json": ("以 JSON 输出（各语言相同）", "print JSON (the same in every language)"),
    "help.init": ("为部门创建工作区。", "Create a workspace for a department."),
    "help.department_code": ("部门的统一社会信用代码", "the department's 统一社会信用代码"),
    "help.department_name": ("部门名称", "the department's name"),
    "help.sample": ("向工作区添加生成的示例条目。", "Add generated sample entries to a workspace."),
    "help.entries": ("条目数", "how many entries"),
    "help.seed": ("随机数种子（相同种子生成相同条目）", "the random seed (the same seed makes the same entries)"),
    "help.validate": ("按编目规则检查每个条目。", "Check every entry against the catalogue rules."),
    "help.search": ("按文字（中文子串）和条件查找条目。", "Find entries by text (Chinese substrings) and filters."),
    "help.text": ("要查找的文字", "the text to find"),
    "help.limit": ("最多列出的条目数", "list at most this many entries"),
    "help.sharing": ("共享类型（可重复）", "sharing type (repeatable)"),
    "help.open": ("开放属性（可重复）", "open attribute (repeatable)"),
    "help.frequency": ("更新周期（可重复）", "update frequency (repeatable)"),
    "help.classification": ("分类前缀，如 2 或 202", "classification prefix, e.g. 2 or 202"),
    "help.problems": ("只列出有问题的条目", "only entries with problems"),
    "help.show": ("按信息资源代码或 ID 显示一个条目。", "Show one entry by resource code or id."),
    "help.key": ("信息资源代码或条目 ID", "the resource code or the entry's id"),
    "help.set": ("修改一个条目的字段（与窗口中的编辑一样记录）。",
                 "Change fields of one entry (recorded like edits in the window)."),
    "help.assignments": ("字段=值，字段可用中文名称", "FIELD=VALUE; fields by key or Chinese name"),
    "help.reason": ("修改理由（随修改记录）", "why (recorded with the change)"),
    "help.pending": ("列出尚未同步的修改。", "List changes not yet synced."),
    "help.publish_preview": (
        "发布预览：列出待同步的修改落地后，公开目录将发布、撤下和更改的数据集。",
        "Publish preview: what the public catalogue will gain, lose and change when the pending changes land.",
    ),
    "help.history": ("列出一个条目的修改记录。", "List the recorded changes of one entry."),
    "help.keys": ("数据管理员的签名密钥：new、show、export、delete。",
                  "The steward's signing key: new, show, export, delete."),
    "help.keys_new": ("创建工作区的 Ed25519 签名密钥（私钥保存在系统密钥环中）。",
                      "Create the workspace's Ed25519 signing key (secret in the OS keyring)."),
    "help.keys_show": ("显示密钥 ID 和指纹。", "Print the key id and fingerprint."),
    "help.keys_export": ("写出公钥文件，供交换平台登记。", "Write the public key file for enrollment at the exchange."),
    "help.keys_delete": ("删除工作区的签名密钥。", "Delete the workspace's signing key."),
    "help.key_file": ("公钥文件", "the public key file"),
    "help.steward_name": ("数据管理员姓名，随密钥记录（默认：登录名）",
                          "the steward's name, recorded with the key (default: the login name)"),
    "help.template": (
        "写出空白编目模板，用 Excel 或 WPS 填写。",
        "Write a blank catalogue template (编目模板) to fill in Excel or WPS.",
    ),
    "help.template_file": ("要写入的 .xlsx 文件", "the .xlsx file to write"),
    "help.import": (
        "从模板格式的 xlsx 或 CSV 文件导入条目。",
        "Import entries from an xlsx in the template layout, or CSV files.",
    ),
    "help.import_files": (
        "一个 .xlsx；或资源目录 CSV 与信息项 CSV",
        "an .xlsx; or a CSV of entries and one of data items",
    ),
    "help.dry_run": ("只检查并报告，不做任何修改", "check and report, change nothing"),
    "help.skip_invalid": ("导入无误的条目；有错误的行连同原因写入新的工作簿",
                          "import the valid entries; write the rejected rows with their reasons to a new workbook"),
    "help.rejected": ("--skip-invalid 写出未导入行的文件", "where --skip-invalid writes the rejected rows"),
    "help.keep_errors": ("将违反目录规则的条目作为草稿导入，修正前不参与同步",
                         "import entries that break catalogue rules as drafts, held back from sync until fixed"),
    "help.export": ("导出目录：xlsx 或 CSV（模板格式）、DCAT-AP、data.json。",
                    "Export the catalogue: xlsx or CSV (template layout), DCAT-AP, data.json."),
    "help.export_file": ("要写入的文件", "the file to write"),
    "help.format": ("默认按文件名判断（.xlsx、.csv；.jsonld 或 .ttl 为 dcat；.json 为 datajson）",
                    "default: from the file name (.xlsx, .csv, .jsonld or .ttl for dcat, .json for datajson)"),
    "help.base_uri": ("开放数据门户的地址：数据集的 IRI 和页面地址以它开头",
                      "the open data portal's address: dataset IRIs and landing pages start with it"),
    "help.license": ("许可协议的 IRI，如 http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
                     "the licence's IRI, e.g. http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"),
    "help.join": ("用接入配置文件加入交换平台：创建工作区和密钥，并发送注册申请等待批准。",
                  "Join an exchange with a profile: make the workspace and the key, and send an enrollment "
                  "request that waits for approval."),
    "help.profile": ("交换平台管理员提供的接入配置文件（.steward-profile）",
                     "the profile from the exchange's administrator (.steward-profile)"),
    "help.sync": ("与交换平台同步：确认平台，拉取并合并，再推送签名的变更集。",
                  "Sync with the exchange: confirm, pull and merge, then push signed changesets."),
    "help.exchange": ("交换平台地址（首次同步后记住）", "the exchange's address (remembered after the first sync)"),
    "help.trust_server_key": ("首次连接时确认交换平台的密钥指纹", "confirm the exchange's key on first contact"),
    "help.ca_bundle": (
        "额外的根证书文件（单位自有的证书颁发机构）",
        "an extra CA certificate file (an office's own authority)",
    ),
    "help.proxy": ("HTTP 或 HTTPS 代理，http://[用户名:密码@]主机:端口（默认：HTTP_PROXY / HTTPS_PROXY）",
                   "HTTP(S) proxy, http://[user:password@]host:port (default: HTTP_PROXY / HTTPS_PROXY)"),
    "help.connect_timeout": (
        "连接超过此时长即放弃（默认 {default}）",
        "give up connecting after this long (default {default})",
    ),
    "help.read_timeout": ("等待一次应答超过此时长即放弃（默认 {default}）",
                          "give up waiting for one answer after this long (default {default})"),
    "help.deadline": ("整个同步超过此时长即停止，保留已完成的部分（默认 {default}）",
                      "stop the whole sync after this long, keeping what was done (default {default})"),
    "help.status": ("未同步的修改、冲突、上次同步、交换平台和密钥。",
                    "Unsynced changes, conflicts, last sync, the exchange and the keys."),
    "help.conflicts": ("列出与其他数据管理员修改之间未解决的冲突。",
                       "List the unresolved conflicts with other stewards' changes."),
    "help.resolve": ("解决一个条目的冲突：每处取本地（mine）或平台（theirs）的值。",
                     "Resolve an entry's conflicts by taking mine or theirs for each."),
    "help.take": ("取本地（mine）或平台（theirs）的值", "take mine or theirs"),
    "help.info": ("工作区摘要。", "Summarise a workspace."),
    "help.request": ("共享申请：向其他部门申请共享数据，答复本部门收到的申请。",
                     "Sharing requests: apply for other departments' data, answer those to this department."),
    "help.request_new": ("申请共享其他部门的条目（签署后在下次同步时发送）。",
                         "Apply for another department's entry (signed now, sent at the next sync)."),
    "help.request_list": ("列出本部门的共享申请，答复期限最近的在前。",
                          "List this department's sharing requests, the soonest due first."),
    "help.request_show": ("显示一条共享申请及其签署记录。", "Show one sharing request with its signed trail."),
    "help.request_approve": ("同意一条有条件共享申请（可附条件）。",
                             "Approve a request for a 有条件共享 entry (maybe on conditions)."),
    "help.request_refuse": ("拒绝一条共享申请，须说明理由。", "Refuse a sharing request, with the reason."),
    "help.request_escalate": ("被拒绝后申请数据主管部门协调，须说明理由。",
                              "Escalate a refused request to the data authority, with the reason."),
    "help.request_withdraw": ("在答复前撤回本部门的申请。",
                              "Withdraw this department's request before it is answered."),
    "help.request_id": ("共享申请编号", "the sharing request's id"),
    "help.purpose": ("用途", "the purpose (用途)"),
    "help.scenario": ("应用场景", "the scenario (应用场景)"),
    "help.items": ("所需信息项，名称或编号，以逗号分隔（默认：可共享的全部信息项）",
                   "the data items needed, names or ids separated by commas (default: every shareable item)"),
    "help.until": ("共享截止日期 YYYY-MM-DD（默认：一年后）",
                   "the last day of the grant, YYYY-MM-DD (default: a year on)"),
    "help.inbox": ("只列出发给本部门的申请（待办）", "only the requests to this department (the inbox)"),
    "help.mine": ("只列出本部门提出的申请", "only the requests this department made"),
    "help.overdue": ("只列出已逾期的", "only those overdue"),
    "help.conditions": ("同意的条件", "the conditions of the approval"),
    "help.request_reason": ("理由", "the reason"),
    "help.gui": ("打开桌面窗口（DIR，或上次或默认的工作区）。",
                 "Open the desktop window (on DIR, or the last or default workspace)."),
    "help.smoke": ("打开窗口，等表格首次绘制后输出用时", "open, wait for the table's first paint, print timings"),
    "help.demo_window": ("打开演示：示例数据和自带的本地交换平台，与实际工作分开",
                         "open the demo: sample data and a local exchange of its own, apart from real work"),
    "help.demo": ("打开（或用示例数据创建）默认工作区并显示摘要。",
                  "Open (or create, with sample data) the default workspace and summarise it."),
}

# argparse's own words (usage, headings, errors), by its English text: the command line looks them up
# here in Chinese (see steward/cli.py). Those of Python 3.11 to 3.13; one not listed stays in English.
ARGPARSE_ZH: dict[str, str] = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示此帮助并退出",
    "show program's version number and exit": "显示版本号并退出",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选择 %(value)r（可选：%(choices)s）",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "expected one argument": "需要一个值",
    "expected at most one argument": "最多需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected %s argument": "需要 %s 个值",
    "expected %s arguments": "需要 %s 个值",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "多余的值 %r 已忽略",
    "one of the arguments %s is required": "须给出参数 %s 之一",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 有歧义，可能是：%(matches)s",
    "unexpected option string: %s": "意外的选项 %s",
}


@dataclass(frozen=True)
class Phrase:
    """A message inside another's parameters (a reason, say): rendered in the same language as it."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


_OS_REASONS = {
    errno.EACCES: "os.permission", errno.EPERM: "os.permission", errno.EROFS: "os.read_only_file_system",
    errno.ENOSPC: "os.disk_full", errno.ENOENT: "os.not_found",
    errno.EISDIR: "os.is_folder", errno.ENOTDIR: "os.not_folder",
}


def os_reason(error: OSError) -> Phrase | str:
    """Why the operating system refused, in the reader's words where they are known (its own English otherwise)."""
    code = _OS_REASONS.get(error.errno or 0)
    return Phrase(code) if code else (error.strerror or str(error))


def language() -> str:
    """'zh' or 'en': STEWARD_LANG, else the messages locale as gettext finds it, else the system's locale.

    As gettext: the first of LC_ALL, LC_MESSAGES and LANG that is set names the locale; in any locale
    but C (or POSIX), LANGUAGE, when set, leads. Where none is set (Windows, a bare service), the
    system's locale decides.
    """
    chosen = os.environ.get("STEWARD_LANG")
    if not chosen:
        posix = next((v for v in map(os.environ.get, ("LC_ALL", "LC_MESSAGES", "LANG")) if v), None)
        if posix is None:
            if os.environ.get("LANGUAGE"):  # gettext's C locale: LANGUAGE does not count
                return "en"
            chosen = locale.getlocale()[0] or ""
        elif posix.split(".")[0] in ("C", "POSIX"):
            return "en"
        else:
            chosen = os.environ.get("LANGUAGE") or posix
    return "zh" if chosen.lower().startswith(("zh", "chinese")) else "en"


def render(code: str, params: dict[str, object] | None = None, lang: str | None = None) -> str:
    """The message `code` in `lang`, with field keys and vocabulary keys shown as labels."""
    lang = lang or language()
    zh, en = MESSAGES.get(code, (code, code))
    values = {key: render(value.code, dict(value.params), lang) if isinstance(value, Phrase) else value
              for key, value in (params or {}).items()}
    field_key = values.get("field")
    if isinstance(field_key, str):
        spec = ITEM_FIELD.get(field_key) if values.get("of_item") else ENTRY_FIELD.get(field_key)
        spec = spec or ENTRY_FIELD.get(field_key) or ITEM_FIELD.get(field_key)
        if spec:
            values["field"] = spec.label(lang)
    vocab_name = values.get("vocabulary")
    if isinstance(vocab_name, str) and isinstance(values.get("value"), str):
        values["value"] = vocab_label(vocab_name, values["value"], lang)
    try:
        return (zh if lang == "zh" else en).format(**values)
    except (KeyError, IndexError):
        return zh if lang == "zh" else en
