"""Conduct rules of debt collection (催收行为规范): when, whom, how often and with what
words a lender or its agencies may contact a borrower.

The rules are pure: ``check_contact`` takes one proposed contact and everything it
depends on (local time, the counters already taken, the case's pause, the rendered
text) and returns every rule it breaks. Counting connected calls across the lender and
all its agencies must be atomic, so the storage takes the slot; the rule here only says
what the cap is. The collections conduct gate (``app.collections.gate``) is the one code
path that asks these questions and, when the answer is empty, calls, messages or visits.

What the rules encode (the regulators' complaints about violent collection):

* contact only between 08:00 and 22:00 in the borrower's local time;
* at most three connected calls per borrower per local day, lender and agencies together;
* only the borrower is told about the debt. A contact person the borrower listed may only
  be asked to pass on a call-back request; people from the borrower's phone book are
  never contacted;
* only approved templates, and no threats, insults, obscenity, or pretending to be the
  police, a court or a lawyer — checked on the text actually sent;
* a complaint pauses the case until it has been reviewed.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from mobilend.domain.errors import ComplianceViolation, Problem


class Channel(enum.StrEnum):
    PUSH = "push"
    SMS = "sms"
    CALL = "call"
    VISIT = "visit"


class Party(enum.StrEnum):
    """Who is contacted."""

    BORROWER = "borrower"
    #: A contact person the borrower listed (紧急联系人): a call-back request only.
    CONTACT_PERSON = "contact_person"
    #: Anyone else, e.g. from the borrower's phone book (通讯录): never.
    THIRD_PARTY = "third_party"


class ConductRule(enum.StrEnum):
    """Each rule has a stable code; a refusal names every rule it broke."""

    CONTACT_HOURS = "contact_hours"
    DAILY_CALL_CAP = "daily_call_cap"
    DAILY_MESSAGE_CAP = "daily_message_cap"
    THIRD_PARTY = "third_party_contact"
    CONTACT_PERSON_DISCLOSURE = "contact_person_disclosure"
    UNAPPROVED_TEMPLATE = "unapproved_template"
    TEMPLATE_CHANNEL = "template_channel"
    BANNED_WORDS = "banned_words"
    CASE_PAUSED = "case_paused"
    CASE_CLOSED = "case_closed"
    NOT_ASSIGNED = "not_assigned"
    NO_RECIPIENT = "no_recipient"

    @property
    def text(self) -> str:
        return RULE_TEXT[self]


RULE_TEXT: Mapping[ConductRule, str] = {
    ConductRule.CONTACT_HOURS: "仅可在借款人当地时间08:00–22:00联系 (contact only 08:00–22:00 local time)",
    ConductRule.DAILY_CALL_CAP: "每位借款人每日接通电话不超过上限，含所有委外机构 (connected calls per borrower per day, lender and agencies together, are capped)",
    ConductRule.DAILY_MESSAGE_CAP: "每位借款人每日催收短信/推送不超过上限 (collection messages per borrower per day are capped)",
    ConductRule.THIRD_PARTY: "不得联系借款人通讯录中的其他人 (people from the borrower's phone book are never contacted)",
    ConductRule.CONTACT_PERSON_DISCLOSURE: "联系人只能被请求转达回电，不得告知债务信息 (a contact person may only be asked to pass on a call-back request, never told of the debt)",
    ConductRule.UNAPPROVED_TEMPLATE: "只能使用已审批的话术模板 (only approved templates may be used)",
    ConductRule.TEMPLATE_CHANNEL: "该模板不适用于此渠道或对象 (the template is not approved for this channel or party)",
    ConductRule.BANNED_WORDS: "内容含禁用词：威胁、辱骂或冒充公检法 (the text contains banned words: threats, insults or impersonating police or courts)",
    ConductRule.CASE_PAUSED: "投诉审核期间案件暂停催收 (the case is paused while a complaint is reviewed)",
    ConductRule.CASE_CLOSED: "案件已结案 (the case is closed)",
    ConductRule.NOT_ASSIGNED: "案件未分配给该催收员或机构 (the case is not assigned to this agent or agency)",
    ConductRule.NO_RECIPIENT: "无可用的联系方式 (no phone or device for this contact)",
}


class ConductRefused(ComplianceViolation):
    """A proposed contact broke one or more conduct rules; nothing was sent."""

    code = "conduct_refused"

    def __init__(self, rules: Sequence[ConductRule], attempt_id: str = "") -> None:
        self.rules = tuple(rules)
        self.attempt_id = attempt_id
        super().__init__(
            "催收行为规则拒绝 (refused by the conduct rules): "
            + ", ".join(rule.value for rule in self.rules),
            [Problem(rule.value, rule.text) for rule in self.rules],
        )


# --------------------------------------------------------------------------- banned words

#: Threats, insults, obscenity, impersonating the state, and pressure through third
#: parties. Matched on normalised text (full-width folded, spaces and punctuation removed,
#: lower case), so "报 警" and "ＰＯＬＩＣＥ" are caught too.
DEFAULT_BANNED_WORDS: tuple[str, ...] = (
    # threats of violence or harm
    "打死", "弄死", "砍死", "杀了你", "揍你", "打断", "小心你的", "后果自负", "不得好死",
    "上门收拾", "让你好看", "找人上门", "黑社会", "泼油漆", "你全家",
    # insults and obscenity
    "老赖", "骗子", "废物", "畜生", "王八蛋", "去死", "傻逼", "贱人", "滚蛋",
    # impersonating police, courts, lawyers, the state
    "警察", "公安", "报警", "抓你", "逮捕", "拘留", "坐牢", "判刑", "通缉", "法院传票",
    "法官", "检察院", "律师函已发", "立案侦查", "征信黑名单", "冻结你的",
    # exposure and pressure through others
    "通讯录", "曝光", "告诉你家人", "告诉你单位", "联系你同事", "爆通讯录",
    # English equivalents (agencies write in either language)
    "police", "arrest", "jail", "prison", "court summons", "kill", "idiot", "scum",
    "your family will", "expose you",
)  # fmt: skip

_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise_text(text: str) -> str:
    """Full-width folded (NFKC), lower case, without spaces or punctuation."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", text).lower())


def banned_words_in(text: str, words: Iterable[str] = DEFAULT_BANNED_WORDS) -> list[str]:
    """The banned words found in ``text``, in list order."""
    plain = normalise_text(text)
    return [w for w in words if normalise_text(w) and normalise_text(w) in plain]


#: Words that tell a contact person about the debt. A message to a contact person is a
#: call-back request and must carry none of them, nor any amount.
DEBT_WORDS: tuple[str, ...] = (
    "欠", "钱", "借款", "贷款", "逾期", "还款", "还钱", "催收", "债务", "拖欠", "元",
    "debt", "loan", "overdue", "repay", "owe", "arrears", "collection",
)  # fmt: skip

_AMOUNT = re.compile(r"(\d[\d,]*\.\d{1,2})|([¥￥]\s*\d)|(\d+\s*(元|块|rmb|cny))", re.IGNORECASE)


def discloses_debt(text: str) -> bool:
    """Whether ``text`` says anything about a debt (a debt word or an amount)."""
    plain = normalise_text(text)
    if any(normalise_text(w) in plain for w in DEBT_WORDS):
        return True
    return _AMOUNT.search(unicodedata.normalize("NFKC", text)) is not None


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class ContactTemplate:
    """An approved script or message: its text per language and where it may be used.

    ``parties``: who it may be used with; only templates marked for contact persons
    (call-back requests) reach them. ``free_text``: the names of parameters an agent
    types (checked for banned words with the rest of the text).
    """

    code: str
    version: str
    channels: frozenset[Channel]
    parties: frozenset[Party]
    body_zh: str
    body_en: str
    free_text: frozenset[str] = frozenset()

    def render(self, locale: str, params: Mapping[str, str]) -> str:
        body = self.body_en if locale.lower().startswith("en") else self.body_zh
        try:
            return body.format_map(dict(params))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"template {self.code} needs parameter {exc}") from None


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class ConductPolicy:
    """The figures of the rules; the defaults are the issue's and common practice."""

    contact_from: dt.time = dt.time(8, 0)
    contact_until: dt.time = dt.time(22, 0)
    #: Connected calls per borrower per local day, lender and every agency together.
    max_connected_calls: int = 3
    #: Collection SMS and push per borrower per local day.
    max_messages: int = 3
    banned_words: tuple[str, ...] = DEFAULT_BANNED_WORDS

    def within_hours(self, local: dt.time) -> bool:
        return self.contact_from <= local < self.contact_until


@dataclass(frozen=True, slots=True)
class ProposedContact:
    """One contact someone wants to make, with everything the rules look at."""

    channel: Channel
    party: Party
    local_time: dt.time
    text: str
    template: ContactTemplate | None
    case_open: bool = True
    case_paused: bool = False
    assigned: bool = True
    has_recipient: bool = True
    #: Per-day counters are taken atomically by the store; these say whether it refused.
    call_cap_reached: bool = False
    message_cap_reached: bool = False
    free_text: Mapping[str, str] = field(default_factory=dict)


def check_contact(contact: ProposedContact, policy: ConductPolicy) -> list[ConductRule]:
    """Every rule ``contact`` breaks (empty: it may go ahead)."""
    broken: list[ConductRule] = []
    if not contact.case_open:
        broken.append(ConductRule.CASE_CLOSED)
    if contact.case_paused:
        broken.append(ConductRule.CASE_PAUSED)
    if not contact.assigned:
        broken.append(ConductRule.NOT_ASSIGNED)
    if contact.party is Party.THIRD_PARTY:
        broken.append(ConductRule.THIRD_PARTY)
    if not policy.within_hours(contact.local_time):
        broken.append(ConductRule.CONTACT_HOURS)
    template = contact.template
    if template is None:
        broken.append(ConductRule.UNAPPROVED_TEMPLATE)
    elif contact.channel not in template.channels or contact.party not in template.parties:
        broken.append(ConductRule.TEMPLATE_CHANNEL)
    everything = " ".join([contact.text, *contact.free_text.values()])
    if banned_words_in(everything, policy.banned_words):
        broken.append(ConductRule.BANNED_WORDS)
    if contact.party is Party.CONTACT_PERSON and discloses_debt(everything):
        broken.append(ConductRule.CONTACT_PERSON_DISCLOSURE)
    if not contact.has_recipient:
        broken.append(ConductRule.NO_RECIPIENT)
    if contact.call_cap_reached:
        broken.append(ConductRule.DAILY_CALL_CAP)
    if contact.message_cap_reached:
        broken.append(ConductRule.DAILY_MESSAGE_CAP)
    return broken


def template_problems(template: ContactTemplate, policy: ConductPolicy) -> list[Problem]:
    """Why a template cannot be approved (banned words; debt talk aimed at contact persons)."""
    problems: list[Problem] = []
    for name, body in (("body_zh", template.body_zh), ("body_en", template.body_en)):
        found = banned_words_in(body, policy.banned_words)
        if found:
            problems.append(Problem(name, "contains banned words: " + ", ".join(found)))
        if Party.CONTACT_PERSON in template.parties and discloses_debt(body):
            problems.append(Problem(name, "a contact-person template must not mention the debt"))
    if Party.THIRD_PARTY in template.parties:
        problems.append(Problem("parties", "no template may be used with third parties"))
    return problems
