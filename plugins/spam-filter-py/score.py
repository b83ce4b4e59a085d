"""Pure spam and auto-reply scoring, the same rules and points as the Rust
`spam-filter` (plugins/spam-filter/src/score.rs). No host calls: it works on
any object shaped like the WIT `mail` record, so it can be tested with plain
CPython (see test_score.py)."""

from dataclasses import dataclass, field

SPAM_WORDS = [
    "viagra", "cialis", "lottery", "you have won", "you've won", "winner", "casino",
    "free money", "make money fast", "work from home", "crypto giveaway", "bitcoin investment",
    "double your bitcoin", "100% free", "risk-free", "act now", "limited time offer",
    "click here", "weight loss", "miracle cure", "cheap meds", "wire transfer",
    "million dollars", "inheritance fund", "beneficiary", "nigerian prince",
    "claim your prize", "congratulations you", "unclaimed", "enlarge",
]

AUTO_REPLY_SUBJECTS = [
    "out of office", "automatic reply", "auto reply", "autoreply", "auto:",
    "abwesenheitsnotiz", "réponse automatique", "away from office",
]

UPSTREAM_FLAG = 5
PRECEDENCE_BULK = 2
MAILING_LIST = 1
SUBJECT_WORD = 2
BODY_WORD = 1
WORDS_CAP = 6
NO_MESSAGE_ID = 2
MANY_RECIPIENTS = 2
HORDE_OF_RECIPIENTS = 3
SHOUTING_SUBJECT = 2
EXCLAMATIONS = 1
NO_SENDER = 2
REPLY_TO_ELSEWHERE = 1
HTML_ONLY = 1

MANY = 10
HORDE = 50


@dataclass
class Assessment:
    """The spam score, its reasons and the auto-reply signals seen."""

    score: int = 0
    reasons: list = field(default_factory=list)
    auto_reply: list = field(default_factory=list)

    def add(self, points, why):
        self.score += points
        self.reasons.append((points, why))


def words_with_extra(extra):
    """The built-in words plus a comma-separated list of extra ones."""
    return SPAM_WORDS + [w.strip().lower() for w in (extra or "").split(",") if w.strip()]


def header(mail, name):
    """The first header called `name` (case-insensitive), or None."""
    for h in mail.headers:
        if h.name.lower() == name.lower():
            return h.value
    return None


def is_shouting(subject):
    """True for a subject with at least 8 letters, all upper case."""
    letters = [c for c in subject if c.isalpha()]
    return len(letters) >= 8 and all(c.isupper() for c in letters)


def _domain(address):
    if "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().rstrip(">").lower()


def assess(mail, words=SPAM_WORDS):
    """Scores `mail`."""
    a = Assessment()

    # Auto-reply signals.
    v = header(mail, "Auto-Submitted")
    if v is not None and v.strip().lower() != "no":
        a.auto_reply.append(f"Auto-Submitted: {v.strip()}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        v = header(mail, name)
        if v is not None:
            a.auto_reply.append(f"{name}: {v.strip()}")
    precedence = (header(mail, "Precedence") or "").strip().lower()
    if precedence == "auto_reply":
        a.auto_reply.append("Precedence: auto_reply")
    subject_l = mail.subject.strip().lower()
    for prefix in AUTO_REPLY_SUBJECTS:
        if subject_l.startswith(prefix):
            a.auto_reply.append(f"subject starts with {prefix!r}")
            break

    # Header signals.
    flag = (header(mail, "X-Spam-Flag") or "").strip().lower() == "yes"
    status = (header(mail, "X-Spam-Status") or "").strip().lower().startswith("yes")
    if flag or status:
        a.add(UPSTREAM_FLAG, "flagged as spam upstream (X-Spam-Flag/X-Spam-Status)")
    if precedence in ("bulk", "junk"):
        a.add(PRECEDENCE_BULK, f"Precedence: {precedence}")
    elif precedence == "list":
        a.add(MAILING_LIST, "Precedence: list")
    elif header(mail, "List-Id") is not None or header(mail, "List-Unsubscribe") is not None:
        a.add(MAILING_LIST, "mailing list headers (List-Id/List-Unsubscribe)")
    if not (mail.message_id or "").strip() and header(mail, "Message-ID") is None:
        a.add(NO_MESSAGE_ID, "no Message-ID")

    # Spam words.
    subject = mail.subject.lower()
    body = (mail.text_body if mail.text_body is not None else mail.html_body or "").lower()
    total, hits = 0, []
    for word in words:
        if word in subject:
            total += SUBJECT_WORD
            hits.append(f"{word!r} in subject")
        elif word in body:
            total += BODY_WORD
            hits.append(f"{word!r} in body")
    if total:
        a.add(min(total, WORDS_CAP), "spam words: " + ", ".join(hits))

    # Shape of the mail.
    recipients = len(mail.to) + len(mail.cc)
    if recipients > HORDE:
        a.add(HORDE_OF_RECIPIENTS, f"{recipients} recipients")
    elif recipients > MANY:
        a.add(MANY_RECIPIENTS, f"{recipients} recipients")
    if is_shouting(mail.subject):
        a.add(SHOUTING_SUBJECT, "all-caps subject")
    marks = sum(1 for c in mail.subject if c in "!$")
    if marks >= 3:
        a.add(EXCLAMATIONS, f"{marks} '!'/'$' in subject")
    if not mail.from_:
        a.add(NO_SENDER, "no From address")
    elif mail.reply_to:
        from_domain = _domain(mail.from_[0].email)
        if from_domain is not None and _domain(mail.reply_to[0].email) != from_domain:
            a.add(REPLY_TO_ELSEWHERE, f"Reply-To {mail.reply_to[0].email} is in another domain than From {mail.from_[0].email}")
    if not (mail.text_body or "").strip() and mail.html_body is not None:
        a.add(HTML_ONLY, "HTML body without a text part")
    return a
