"""Unit tests of score.py with plain CPython: `python3 -m unittest test_score`
(in plugins/spam-filter-py). They mirror the Rust tests of the same rules."""

import unittest
from types import SimpleNamespace as NS

import score


def mail(**kw):
    base = dict(
        headers=[], message_id="<abc@mail.example.com>", subject="Cannot log in to the portal",
        from_=[NS(email="alice@example.com")], to=[NS(email="support@example.com")], cc=[],
        reply_to=[], text_body="Hello, since this morning I cannot log in. Regards, Alice", html_body=None,
    )
    base.update(kw)
    return NS(**base)


def h(name, value):
    return NS(name=name, value=value)


class ScoreTest(unittest.TestCase):
    def test_ordinary_mail_scores_zero(self):
        a = score.assess(mail())
        self.assertEqual(a.score, 0, a.reasons)
        self.assertFalse(a.auto_reply)

    def test_upstream_flag(self):
        self.assertEqual(score.assess(mail(headers=[h("x-spam-flag", " YES ")])).score, 5)
        self.assertEqual(score.assess(mail(headers=[h("X-Spam-Status", "Yes, score=9")])).score, 5)
        self.assertEqual(score.assess(mail(headers=[h("X-Spam-Flag", "NO")])).score, 0)

    def test_precedence_and_lists(self):
        self.assertEqual(score.assess(mail(headers=[h("Precedence", "bulk")])).score, 2)
        self.assertEqual(score.assess(mail(headers=[h("Precedence", "junk"), h("List-Id", "<x>")])).score, 2)
        self.assertEqual(score.assess(mail(headers=[h("List-Id", "<x>")])).score, 1)

    def test_words(self):
        self.assertEqual(score.assess(mail(subject="Claim your prize now")).score, 2)
        self.assertEqual(score.assess(mail(text_body="Click here for cheap meds")).score, 2)
        self.assertEqual(score.assess(mail(subject="viagra cialis casino lottery winner")).score, 6)
        words = score.words_with_extra(" seo services , ,backlinks")
        self.assertEqual(score.assess(mail(subject="Great SEO services"), words).score, 2)

    def test_shape(self):
        self.assertEqual(score.assess(mail(message_id=None)).score, 2)
        self.assertEqual(score.assess(mail(message_id=None, from_=[])).score, 4)
        many = [NS(email=f"u{i}@example.com") for i in range(11)]
        self.assertEqual(score.assess(mail(to=many)).score, 2)
        self.assertEqual(score.assess(mail(to=many, cc=many * 4)).score, 3)
        self.assertEqual(score.assess(mail(subject="BUY NOW!!! BEST PRICE")).score, 3)
        m = mail(reply_to=[NS(email="collect@elsewhere.example.net")], text_body=None, html_body="<p>hi</p>")
        self.assertEqual(score.assess(m).score, 2)

    def test_auto_replies(self):
        for header in (h("Auto-Submitted", "auto-replied"), h("X-Autoreply", "yes"), h("Precedence", "auto_reply")):
            a = score.assess(mail(headers=[header]))
            self.assertTrue(a.auto_reply, header)
            self.assertEqual(a.score, 0)
        self.assertFalse(score.assess(mail(headers=[h("Auto-Submitted", "no")])).auto_reply)
        self.assertTrue(score.assess(mail(subject="Automatic reply: Cannot log in")).auto_reply)


if __name__ == "__main__":
    unittest.main()
