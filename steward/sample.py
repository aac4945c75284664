"""A realistic sample catalogue: Chinese departments, resources and data items, some breaking rules.

Deterministic for a given seed. Every vocabulary value appears once the sample holds a few
dozen entries; about one entry in a hundred carries a defect the rules report.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum.cn import uscc

from steward.catalogue.model import DataItem, Entry
from steward.catalogue.vocabulary import OpenType, SharingType, vocabulary
from steward.workspace import drafts, journal
from steward.workspace.workspace import Workspace


@dataclass(frozen=True)
class Department:
    name: str
    code: str  # 统一社会信用代码
    classification_item: str  # the 部门 class's 项 ("3" + two digits)
    topics: tuple[str, ...]


def make_uscc(region: str, organisation: str) -> str:
    """A well-formed code for a government organ (registering authority 1, type 1)."""
    body = f"11{region}{organisation}"
    return body + uscc.calc_check_digit(body)


def _department(name: str, org: str, item: str, topics: str) -> Department:
    return Department(name, make_uscc("310000", org), item, tuple(topics.split()))


DEPARTMENTS: tuple[Department, ...] = (
    _department("上海市市场监督管理局", "MB2F41826", "319",
                "企业登记 个体工商户登记 食品经营许可 特种设备 产品质量抽检 商标注册 广告监测 计量器具检定"),
    _department("上海市卫生健康委员会", "002424837", "317",
                "医疗机构执业 医师执业注册 护士执业注册 出生医学证明 预防接种 传染病报告 卫生监督检查 母婴保健"),
    _department("上海市公安局", "00242405X", "304",
                "户籍登记 居住证 出入境证件 机动车登记 驾驶证 治安管理 消防检查 网约车驾驶员背景核查"),
    _department("上海市人力资源和社会保障局", "002424247", "308",
                "社会保险参保 就业登记 职业资格证书 劳动合同备案 失业保险金 工伤认定 技能培训补贴 人才引进"),
    _department("上海市民政局", "002423113", "305",
                "婚姻登记 社会组织登记 最低生活保障 养老机构 殡葬服务 地名管理 慈善组织 困境儿童"),
    _department("上海市交通委员会", "00242546X", "312",
                "道路运输经营许可 出租汽车 公交线路 轨道交通客流 停车场备案 港口经营 船舶登记 交通违法"),
    _department("上海市生态环境局", "002425232", "310",
                "排污许可 环境影响评价 空气质量监测 水环境监测 危险废物转移 环境行政处罚 辐射安全许可 噪声监测"),
    _department("上海市规划和自然资源局", "002425451", "309",
                "不动产登记 建设用地规划许可 土地供应 测绘成果 地质灾害 林地管理 耕地保护 规划编制"),
    _department("上海市教育委员会", "002423998", "302",
                "学校基本信息 学籍管理 教师资格 招生考试 校外培训机构 学生资助 学前教育 职业教育"),
    _department("上海市住房和城乡建设管理委员会", "002425011", "311",
                "建筑业企业资质 施工许可 商品房预售 住房公积金 物业服务企业 建设工程质量 保障性住房 房屋租赁备案"),
)

DISTRICTS = ("", "", "", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "宝山区",
             "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区")
SUFFIXES = ("信息", "基本信息", "名录", "统计数据", "登记信息", "变更记录", "许可证信息", "检查结果", "年报数据",
            "办件信息", "注销信息", "监测数据")
OPEN_CONDITIONS = "仅向经实名认证的申请人开放,用途限于科研和公共服务"
PURPOSES = ("跨部门业务协同", "事中事后监管", "公共服务办理", "统计分析", "社会信用体系建设", "一网通办")

# (name, data type, length): the kinds of columns such resources have.
COMMON_ITEMS = (
    ("统一社会信用代码", "C", 18), ("机构名称", "C", 200), ("法定代表人", "C", 50), ("联系电话", "C", 20),
    ("住所", "C", 200), ("邮政编码", "C", 6), ("业务编号", "C", 32), ("办理日期", "D", 8), ("办理状态", "C", 10),
    ("审批机关", "C", 100), ("有效期起", "D", 8), ("有效期止", "D", 8), ("备注", "M", None),
    ("更新时间", "T", 14), ("数据来源", "C", 50), ("所属区", "C", 20), ("经营范围", "M", None),
    ("注册资本", "Y", 18), ("从业人数", "I", 10), ("占地面积", "B", 16), ("是否有效", "L", 1),
    ("姓名", "C", 50), ("性别", "C", 2), ("公民身份号码", "C", 18), ("出生日期", "D", 8), ("民族", "C", 20),
    ("户籍地址", "C", 200), ("证件照片", "G", None), ("经度", "F", 12), ("纬度", "F", 12), ("检查次数", "N", 8),
    ("处罚金额", "Y", 18), ("证书编号", "C", 40), ("发证日期", "D", 8), ("许可事项", "C", 200),
    ("核准日期", "D", 8), ("登记机关", "C", 100), ("负责人", "C", 50), ("所属行业", "C", 50),
)

DEFECTS = (
    "conditional_without_conditions", "not_shared_but_open", "bad_provider_code", "duplicate_code",
    "bad_date", "item_more_open", "bad_related_code", "missing_abstract", "not_shared_without_basis",
)


def _terms(name: str) -> list[str]:
    return vocabulary(name).keys()


class _Generator:
    def __init__(self, department: Department, seed: int) -> None:
        self.department = department
        self.rng = random.Random(seed)
        self.previous_codes: list[str] = []

    def pick(self, name: str, n: int, weights: list[int] | None = None) -> str:
        """Cycle through every value first, so even a small sample uses the whole vocabulary."""
        values = _terms(name)
        if n < len(values):
            return values[n]
        return self.rng.choices(values, weights)[0] if weights else self.rng.choice(values)

    def classification(self, n: int) -> str:
        rng = self.rng
        top = n % 3 + 1 if n < 3 else rng.choices((1, 2, 3), (2, 3, 5))[0]
        if top == 3:
            item = self.department.classification_item
        else:
            item = rng.choice([k for k in _terms("classification_item") if k.startswith(str(top))])
        return f"{item}{rng.randint(1, 12):03d}"

    def items(self, topic: str) -> list[DataItem]:
        rng = self.rng
        count = rng.randint(12, 20)
        chosen = rng.sample(COMMON_ITEMS, count - 2)
        specific = [(f"{topic}类别", "C", 20), (f"{topic}编号", "C", 40)]
        return [
            DataItem(name=name, data_type=data_type, length=length, position=position)
            for position, (name, data_type, length) in enumerate(specific + chosen, start=1)
        ]

    def entry(self, n: int, sequence: int) -> Entry:
        rng, dept = self.rng, self.department
        topic = rng.choice(dept.topics)
        suffix = rng.choice(SUFFIXES)
        classification = self.classification(n)
        sharing = self.pick("sharing_type", n, [6, 3, 1])
        opening = OpenType.NOT_OPEN if sharing == SharingType.NOT_SHARED else self.pick("open_type", n, [2, 3, 5])
        if n == 2:  # the cycle pairs 不予共享 with 不予开放 anyway; make sure 有条件开放 shows up too
            opening = OpenType.CONDITIONAL
        fmt = self.pick("format_category", n)
        not_shared = sharing == SharingType.NOT_SHARED
        items = self.items(topic)
        published = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3650))
        entry = Entry(
            classification=classification,
            name=f"{rng.choice(DISTRICTS)}{topic}{suffix}",
            code=f"{classification}/{sequence:06d}",
            provider=dept.name,
            provider_code=dept.code,
            abstract=(
                f"记录{dept.name}在{topic}工作中形成的{suffix},包括{items[0].name}、{items[2].name}、"
                f"{items[3].name}等{len(items)}项信息,用于{rng.choice(PURPOSES)}。"
            ),
            format_category=fmt,
            format_type=rng.choice(vocabulary("format_category").term(fmt).extra.get("types", [""])),  # type: ignore[arg-type]
            sharing_type=sharing,
            sharing_conditions=self._sharing_conditions(sharing),
            sharing_method_category=None if not_shared else self.pick("sharing_method_category", n),
            sharing_method_type=None if not_shared else self.pick("sharing_method_type", n),
            open_type=opening,
            open_conditions=OPEN_CONDITIONS if opening == OpenType.CONDITIONAL else "",
            update_frequency=self.pick("update_frequency", n),
            published=published.isoformat(),
            related_codes=self._related(),
            items=items,
        )
        self._restrict_some_items(entry)
        if n % 97 == 50:
            self._break(entry, DEFECTS[(n // 97) % len(DEFECTS)])
        self.previous_codes.append(entry.code)
        return entry

    def _sharing_conditions(self, sharing: str) -> str:
        if sharing == SharingType.CONDITIONAL:
            return self.rng.choice((
                "仅限用于行政审批和监管业务,使用部门须提交用途说明并经本部门审核同意",
                "需经数据提供部门审批,仅共享与申请事项相关的字段",
                "按照最小必要原则,经市大数据中心协调后共享",
            ))
        if sharing == SharingType.NOT_SHARED:
            return self.rng.choice((
                "依据《中华人民共和国保守国家秘密法》,涉及国家秘密,不予共享",
                "依据《中华人民共和国个人信息保护法》第二十八条,含敏感个人信息,不予共享",
                "依据《政务数据共享条例》第十四条,法律、行政法规明确规定不能共享",
            ))
        return ""

    def _related(self) -> list[str]:
        if not self.previous_codes or self.rng.random() > 0.2:
            return []
        return self.rng.sample(self.previous_codes[-50:], min(len(self.previous_codes), self.rng.randint(1, 2)))

    def _restrict_some_items(self, entry: Entry) -> None:
        """Mark personal columns stricter than the entry, as stewards do."""
        for item in entry.items:
            if item.name in ("公民身份号码", "联系电话", "证件照片"):
                item.sharing_type = SharingType.CONDITIONAL if entry.sharing_type != SharingType.NOT_SHARED else None
                item.open_type = OpenType.NOT_OPEN

    def _break(self, entry: Entry, defect: str) -> None:
        match defect:
            case "conditional_without_conditions":
                entry.sharing_type, entry.sharing_conditions = SharingType.CONDITIONAL, ""
                entry.sharing_method_category, entry.sharing_method_type = "platform", "interface"
            case "not_shared_but_open":
                entry.sharing_type, entry.open_type = SharingType.NOT_SHARED, OpenType.UNCONDITIONAL
                entry.sharing_conditions = self._sharing_conditions(SharingType.NOT_SHARED)
            case "bad_provider_code":
                entry.provider_code = entry.provider_code[:-1] + ("0" if entry.provider_code[-1] != "0" else "1")
            case "duplicate_code":
                if self.previous_codes:
                    entry.code = self.previous_codes[-1]
                    entry.classification = entry.code.split("/")[0]
            case "bad_date":
                entry.published = "2023-02-30"
            case "item_more_open":
                entry.open_type = OpenType.NOT_OPEN
                entry.items[0].open_type = OpenType.UNCONDITIONAL
            case "bad_related_code":
                entry.related_codes = ["0000-ABC"]
            case "missing_abstract":
                entry.abstract = ""
            case "not_shared_without_basis":
                entry.sharing_type, entry.open_type, entry.sharing_conditions = SharingType.NOT_SHARED, "not_open", ""


def department_for(code: str, name: str) -> Department:
    """The sample department matching a workspace, or one made up for it with generic topics."""
    for dept in DEPARTMENTS:
        if dept.code == code:
            return dept
    return Department(name, code, "301", ("业务办理", "行政许可", "行政处罚", "统计调查", "公共服务", "监督检查"))


def generate(department: Department, count: int, seed: int = 0, first_sequence: int = 1) -> Iterator[Entry]:
    """`count` entries of `department`, numbered from `first_sequence`."""
    generator = _Generator(department, seed)
    for n in range(count):
        yield generator.entry(n, first_sequence + n)


DEMO_ENTRIES = 300  # the default workspace's and the demo's sample size
SAMPLE_BATCH = 2000


def add_sample(
    ws: Workspace, count: int, seed: int, progress: Callable[[int, int], None] | None = None
) -> int:
    """Add `count` generated entries, numbered after the highest sequence already used."""
    department = department_for(ws.department_code, ws.department_name)
    entries = generate(department, count, seed=seed, first_sequence=drafts.highest_sequence(ws) + 1)
    done = 0
    while done < count:
        batch = [next(entries) for _ in range(min(SAMPLE_BATCH, count - done))]
        journal.apply(ws, [journal.CreateEntry(e) for e in batch], reason="sample")
        done += len(batch)
        if progress:
            progress(done, count)
    return done
