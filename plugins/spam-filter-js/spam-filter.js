// spam-filter-js: the spam filter of plugins/spam-filter, written in
// JavaScript and built with componentize-js (see ../build-js.sh): same rules,
// points, config keys and verdicts. The postmaster-filter world grants no
// HTTP, so the component is built with `-d http -d fetch-event`.
import { get as configGet } from 'switchboard:plugin/config@0.1.0';
import { write as logWrite } from 'switchboard:plugin/log@0.1.0';

const SPAM_WORDS = [
  'viagra', 'cialis', 'lottery', 'you have won', "you've won", 'winner', 'casino',
  'free money', 'make money fast', 'work from home', 'crypto giveaway', 'bitcoin investment',
  'double your bitcoin', '100% free', 'risk-free', 'act now', 'limited time offer',
  'click here', 'weight loss', 'miracle cure', 'cheap meds', 'wire transfer',
  'million dollars', 'inheritance fund', 'beneficiary', 'nigerian prince',
  'claim your prize', 'congratulations you', 'unclaimed', 'enlarge',
];

const AUTO_REPLY_SUBJECTS = [
  'out of office', 'automatic reply', 'auto reply', 'autoreply', 'auto:',
  'abwesenheitsnotiz', 'réponse automatique', 'away from office',
];

const P = {
  upstreamFlag: 5, precedenceBulk: 2, mailingList: 1, subjectWord: 2, bodyWord: 1, wordsCap: 6,
  noMessageId: 2, manyRecipients: 2, hordeOfRecipients: 3, shoutingSubject: 2, exclamations: 1,
  noSender: 2, replyToElsewhere: 1, htmlOnly: 1,
};
const MANY = 10;
const HORDE = 50;

/** A plugin-error result: componentize-js turns a thrown `payload` into `err`. */
class PluginError extends Error {
  constructor(code, message) {
    super(message);
    this.payload = { code, message };
  }
}

function header(mail, name) {
  const lower = name.toLowerCase();
  const h = mail.headers.find((h) => h.name.toLowerCase() === lower);
  return h === undefined ? undefined : h.value;
}

function isShouting(subject) {
  const letters = [...subject].filter((c) => c.toLowerCase() !== c.toUpperCase());
  return letters.length >= 8 && letters.every((c) => c === c.toUpperCase());
}

function domain(address) {
  const at = address.lastIndexOf('@');
  return at < 0 ? undefined : address.slice(at + 1).trim().replace(/>+$/, '').toLowerCase();
}

/** Scores `mail`: { score, reasons: [[points, why]], autoReply: [signal] }. */
export function assess(mail, words = SPAM_WORDS) {
  const a = { score: 0, reasons: [], autoReply: [] };
  const add = (points, why) => { a.score += points; a.reasons.push([points, why]); };

  const submitted = header(mail, 'Auto-Submitted');
  if (submitted !== undefined && submitted.trim().toLowerCase() !== 'no') a.autoReply.push(`Auto-Submitted: ${submitted.trim()}`);
  for (const name of ['X-Autoreply', 'X-Autorespond', 'X-Autoresponder']) {
    const v = header(mail, name);
    if (v !== undefined) a.autoReply.push(`${name}: ${v.trim()}`);
  }
  const precedence = (header(mail, 'Precedence') ?? '').trim().toLowerCase();
  if (precedence === 'auto_reply') a.autoReply.push('Precedence: auto_reply');
  const subjectTrimmed = mail.subject.trim().toLowerCase();
  const prefix = AUTO_REPLY_SUBJECTS.find((p) => subjectTrimmed.startsWith(p));
  if (prefix !== undefined) a.autoReply.push(`subject starts with "${prefix}"`);

  const flag = (header(mail, 'X-Spam-Flag') ?? '').trim().toLowerCase() === 'yes';
  const status = (header(mail, 'X-Spam-Status') ?? '').trim().toLowerCase().startsWith('yes');
  if (flag || status) add(P.upstreamFlag, 'flagged as spam upstream (X-Spam-Flag/X-Spam-Status)');
  if (precedence === 'bulk' || precedence === 'junk') add(P.precedenceBulk, `Precedence: ${precedence}`);
  else if (precedence === 'list') add(P.mailingList, 'Precedence: list');
  else if (header(mail, 'List-Id') !== undefined || header(mail, 'List-Unsubscribe') !== undefined) {
    add(P.mailingList, 'mailing list headers (List-Id/List-Unsubscribe)');
  }
  if (!(mail.messageId ?? '').trim() && header(mail, 'Message-ID') === undefined) add(P.noMessageId, 'no Message-ID');

  const subject = mail.subject.toLowerCase();
  const body = (mail.textBody ?? mail.htmlBody ?? '').toLowerCase();
  let total = 0;
  const hits = [];
  for (const word of words) {
    if (subject.includes(word)) { total += P.subjectWord; hits.push(`"${word}" in subject`); }
    else if (body.includes(word)) { total += P.bodyWord; hits.push(`"${word}" in body`); }
  }
  if (total > 0) add(Math.min(total, P.wordsCap), `spam words: ${hits.join(', ')}`);

  const recipients = mail.to.length + mail.cc.length;
  if (recipients > HORDE) add(P.hordeOfRecipients, `${recipients} recipients`);
  else if (recipients > MANY) add(P.manyRecipients, `${recipients} recipients`);
  if (isShouting(mail.subject)) add(P.shoutingSubject, 'all-caps subject');
  const marks = [...mail.subject].filter((c) => c === '!' || c === '$').length;
  if (marks >= 3) add(P.exclamations, `${marks} '!'/'$' in subject`);
  if (mail.from.length === 0) add(P.noSender, 'no From address');
  else if (mail.replyTo.length > 0) {
    const fromDomain = domain(mail.from[0].email);
    if (fromDomain !== undefined && domain(mail.replyTo[0].email) !== fromDomain) {
      add(P.replyToElsewhere, `Reply-To ${mail.replyTo[0].email} is in another domain than From ${mail.from[0].email}`);
    }
  }
  if (!(mail.textBody ?? '').trim() && mail.htmlBody !== undefined) add(P.htmlOnly, 'HTML body without a text part');
  return a;
}

function configInt(key, fallback) {
  const value = (configGet(key) ?? '').trim();
  if (!value) return fallback;
  if (!/^[+-]?\d+$/.test(value)) throw new PluginError('bad-config', `config \`${key}\` must be an integer, got "${value}"`);
  return Number.parseInt(value, 10);
}

function configStr(key, fallback) {
  const value = (configGet(key) ?? '').trim();
  return value || fallback;
}

/** The exported `filter` function of the postmaster-filter world. */
export function filter(mail) {
  const threshold = configInt('threshold', 5);
  const junkQueue = configStr('junk_queue', 'Junk');
  const autoReplyState = configStr('auto_reply_state', undefined);
  const extra = (configGet('extra_words') ?? '').split(',').map((w) => w.trim().toLowerCase()).filter((w) => w);

  const a = assess(mail, SPAM_WORDS.concat(extra));
  const sender = mail.from.length > 0 ? mail.from[0].email : '<no sender>';
  let line = `mail "${mail.messageId ?? '<no message-id>'}" from ${sender}: score ${a.score} `
    + `(threshold ${threshold}, ${a.score >= threshold ? 'spam' : 'not spam'})`;
  for (const [points, why] of a.reasons) line += `; +${points} ${why}`;
  if (a.autoReply.length > 0) line += `; auto-reply: ${a.autoReply.join(', ')}`;
  logWrite('debug', line);

  const verdict = {
    queue: undefined, state: undefined, priority: undefined, owner: undefined, responsible: undefined,
    ticketType: undefined, title: undefined, customerUser: undefined, customerCompany: undefined,
    dynamicFields: [], senderType: undefined, visibleForCustomer: undefined, ignore: false, stop: false,
  };
  if (a.autoReply.length > 0) {
    verdict.senderType = 'system';
    verdict.dynamicFields.push({ name: 'AutoReply', values: ['1'] });
    if (autoReplyState) verdict.state = autoReplyState;
  }
  if (a.score >= threshold) {
    verdict.queue = junkQueue;
    verdict.dynamicFields.push({ name: 'SpamScore', values: [String(a.score)] });
  }
  return verdict;
}
