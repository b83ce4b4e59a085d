"""spam-filter-py: the spam filter of plugins/spam-filter, written in Python
and built with componentize-py (see ../build-py.sh). Same config keys, same
verdicts."""

import wit_world
from componentize_py_types import Err
from wit_world.imports import config, log
from wit_world.imports.filter_types import Verdict
from wit_world.imports.types import DynamicField, PluginError, SenderType

import score


def _config_int(key, default):
    value = (config.get(key) or "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise Err(PluginError("bad-config", f"config `{key}` must be an integer, got {value!r}"))


def _config_str(key, default):
    value = (config.get(key) or "").strip()
    return value or default


class WitWorld(wit_world.WitWorld):
    """The exported `filter` function."""

    def filter(self, mail):
        threshold = _config_int("threshold", 5)
        junk_queue = _config_str("junk_queue", "Junk")
        auto_reply_state = _config_str("auto_reply_state", None)
        words = score.words_with_extra(config.get("extra_words"))

        a = score.assess(mail, words)
        spam = "spam" if a.score >= threshold else "not spam"
        sender = mail.from_[0].email if mail.from_ else "<no sender>"
        line = f"mail {mail.message_id or '<no message-id>'!r} from {sender}: score {a.score} (threshold {threshold}, {spam})"
        line += "".join(f"; +{p} {why}" for p, why in a.reasons)
        if a.auto_reply:
            line += "; auto-reply: " + ", ".join(a.auto_reply)
        log.write(log.Level.DEBUG, line)

        verdict = Verdict(
            queue=None, state=None, priority=None, owner=None, responsible=None,
            ticket_type=None, title=None, customer_user=None, customer_company=None,
            dynamic_fields=[], sender_type=None, visible_for_customer=None,
            ignore=False, stop=False,
        )
        if a.auto_reply:
            verdict.sender_type = SenderType.SYSTEM
            verdict.dynamic_fields.append(DynamicField("AutoReply", ["1"]))
            if auto_reply_state:
                verdict.state = auto_reply_state
        if a.score >= threshold:
            verdict.queue = junk_queue
            verdict.dynamic_fields.append(DynamicField("SpamScore", [str(a.score)]))
        return verdict
