import { describe, expect, it } from 'vitest';
import { classifyVisit, type SourceRule } from '../../src/attribution/classifyVisit.js';
import { isAllowedOrigin } from '../../src/attribution/isAllowedOrigin.js';
import { choosePoolNumber, holdState, poolUtilization, type PoolNumberState } from '../../src/attribution/poolAssignment.js';
import { resolveTouch, type AttributedTouch } from '../../src/attribution/resolveTouch.js';
import { createTokenBuckets } from '../../src/api/tokenBuckets.js';
import { heartbeatSecondsFor } from '../../src/api/routes/snippetRoutes.js';
import { displayNumber } from '../../src/snippet/displayNumber.js';
import { FIND_NUMBERS_JS, FORMAT_LIKE_JS, snippetSize, SNIPPET_JS } from '../../src/snippet/snippetSource.js';

const LP = 'https://acme.example/plumbing';

describe('classifyVisit: built-in defaults in precedence order', () => {
  const cases: Array<[string, string | null, string | null, { source: string; medium: string | null; campaign: string | null }]> = [
    ['utm tags', `${LP}?utm_source=google&utm_medium=cpc&utm_campaign=spring`, null, { source: 'google', medium: 'cpc', campaign: 'spring' }],
    ['utm beats the referrer', `${LP}?utm_source=newsletter&utm_medium=email`, 'https://www.google.com/', { source: 'newsletter', medium: 'email', campaign: null }],
    ['utm names are case-insensitive', `${LP}?UTM_SOURCE=Bing`, null, { source: 'Bing', medium: null, campaign: null }],
    ['gclid', `${LP}?gclid=abc`, null, { source: 'google', medium: 'cpc', campaign: null }],
    ['gclid beats a social referrer', `${LP}?gclid=abc`, 'https://facebook.com/', { source: 'google', medium: 'cpc', campaign: null }],
    ['msclkid', `${LP}?msclkid=x1`, null, { source: 'bing', medium: 'cpc', campaign: null }],
    ['fbclid', `${LP}?fbclid=x1`, 'https://l.facebook.com/', { source: 'facebook', medium: 'social', campaign: null }],
    ['click id keeps utm_campaign', `${LP}?gclid=a&utm_campaign=brand`, null, { source: 'google', medium: 'cpc', campaign: 'brand' }],
    ['search engine referrer', LP, 'https://www.google.co.uk/search?q=plumber', { source: 'google', medium: 'organic', campaign: null }],
    ['bing referrer', LP, 'https://www.bing.com/', { source: 'bing', medium: 'organic', campaign: null }],
    ['duckduckgo referrer', LP, 'https://duckduckgo.com/', { source: 'duckduckgo', medium: 'organic', campaign: null }],
    ['social referrer', LP, 'https://t.co/abc', { source: 'twitter', medium: 'social', campaign: null }],
    ['linkedin referrer', LP, 'https://www.linkedin.com/feed/', { source: 'linkedin', medium: 'social', campaign: null }],
    ['other referrer', LP, 'https://www.yelp.com/biz/acme', { source: 'yelp.com', medium: 'referral', campaign: null }],
    ['same-site referrer is direct', LP, 'https://acme.example/', { source: 'direct', medium: null, campaign: null }],
    ['no referrer, no tags', LP, null, { source: 'direct', medium: null, campaign: null }],
    ['garbage URLs are direct', 'not a url', 'also not', { source: 'direct', medium: null, campaign: null }],
    ['empty utm_source ignored', `${LP}?utm_source=`, null, { source: 'direct', medium: null, campaign: null }],
  ];
  it.each(cases)('%s', (_name, landingPage, referrer, expected) => {
    expect(classifyVisit({ landingPage, referrer }, [])).toMatchObject(expected);
  });

  it('keeps utm tags and click ids, cut to 200 characters', () => {
    const long = 'x'.repeat(300);
    const t = classifyVisit({ landingPage: `${LP}?utm_source=g&utm_term=${long}&gclid=c1&other=1`, referrer: null }, []);
    expect(t.utm).toEqual({ utm_source: 'g', utm_term: 'x'.repeat(200) });
    expect(t.clickIds).toEqual({ gclid: 'c1' });
    expect(t.direct).toBe(false);
  });
});

describe('classifyVisit: account rules first, in the order given', () => {
  const rule = (r: Partial<SourceRule> & Pick<SourceRule, 'kind' | 'source'>): SourceRule => ({ match: null, value: null, medium: null, campaign: null, ...r });
  const rules: SourceRule[] = [
    rule({ id: 1, kind: 'param', match: 'utm_source', value: 'adwords', source: 'google', medium: 'cpc' }),
    rule({ id: 2, kind: 'param', match: 'ref', source: 'partner', medium: 'affiliate' }),
    rule({ id: 3, kind: 'referrer_host', match: 'news.example.org', source: 'press', medium: 'referral', campaign: 'launch' }),
    rule({ id: 4, kind: 'referrer_group', match: 'social', source: 'social-all', medium: 'social' }),
    rule({ id: 5, kind: 'direct', source: 'offline-ads', medium: 'print' }),
  ];
  const cases: Array<[string, string, string | null, number | null, string, string | null, string | null]> = [
    ['param with value', `${LP}?utm_source=AdWords&utm_campaign=c9`, null, 1, 'google', 'cpc', 'c9'],
    ['param with another value falls through to defaults', `${LP}?utm_source=yahoo`, null, null, 'yahoo', null, null],
    ['param present with any value', `${LP}?ref=123`, null, 2, 'partner', 'affiliate', null],
    ['exact referrer host (www ignored)', LP, 'https://www.news.example.org/story', 3, 'press', 'referral', 'launch'],
    ['referrer subdomain is not the exact host', LP, 'https://m.news.example.org/story', null, 'm.news.example.org', 'referral', null],
    ['referrer group', LP, 'https://www.instagram.com/', 4, 'social-all', 'social', null],
    ['search is not social', LP, 'https://www.google.com/', null, 'google', 'organic', null],
    ['direct rule', LP, null, 5, 'offline-ads', 'print', null],
    ['earlier rule wins', `${LP}?utm_source=adwords&ref=1`, 'https://t.co/', 1, 'google', 'cpc', null],
  ];
  it.each(cases)('%s', (_n, landingPage, referrer, ruleId, source, medium, campaign) => {
    expect(classifyVisit({ landingPage, referrer }, rules)).toMatchObject({ ruleId, source, medium, campaign });
  });
});

describe('resolveTouch: first and last touch within the window', () => {
  const DAY = 86_400_000;
  const now = Date.parse('2026-03-10T12:00:00Z');
  const t = (source: string, direct = false): AttributedTouch => ({
    source,
    medium: null,
    campaign: null,
    landingPage: null,
    referrer: null,
    utm: null,
    clickIds: null,
    direct,
  });
  const google = t('google');
  const bing = t('bing');
  const direct = t('direct', true);
  const cases: Array<[string, 'first' | 'last', AttributedTouch, { touch: AttributedTouch; firstVisitAt: number } | undefined, string, number]> = [
    ['new visitor', 'first', bing, undefined, 'bing', now],
    ['first touch keeps the earlier source', 'first', bing, { touch: google, firstVisitAt: now - 5 * DAY }, 'google', now - 5 * DAY],
    ['first touch, direct return', 'first', direct, { touch: google, firstVisitAt: now - 5 * DAY }, 'google', now - 5 * DAY],
    ['last touch takes the new source', 'last', bing, { touch: google, firstVisitAt: now - 5 * DAY }, 'bing', now - 5 * DAY],
    ['last touch ignores a direct return', 'last', direct, { touch: google, firstVisitAt: now - 5 * DAY }, 'google', now - 5 * DAY],
    ['window over: first touch starts again', 'first', bing, { touch: google, firstVisitAt: now - 31 * DAY }, 'bing', now],
    ['window over: last touch starts again', 'last', direct, { touch: google, firstVisitAt: now - 31 * DAY }, 'direct', now],
    ['on the window edge still counts', 'first', bing, { touch: google, firstVisitAt: now - 30 * DAY }, 'google', now - 30 * DAY],
  ];
  it.each(cases)('%s', (_n, model, current, previous, source, firstVisitAt) => {
    const r = resolveTouch({ current, previous, model, windowDays: 30, now });
    expect(r.touch.source).toBe(source);
    expect(r.firstVisitAt).toBe(firstVisitAt);
  });
});

describe('pool assignment', () => {
  const pool = { idleReleaseSeconds: 60, releaseGraceSeconds: 30 };
  const free = (id: number, lastReleasedAt: number | null = null): PoolNumberState => ({ trackingNumberId: id, holder: null, lastReleasedAt });
  const held = (id: number, visitId: number, lastSeenAt: number, lastReleasedAt: number | null = null): PoolNumberState => ({
    trackingNumberId: id,
    holder: { visitId, lastSeenAt, releasedAt: null },
    lastReleasedAt,
  });
  const now = 1_000_000;
  const cases: Array<[string, PoolNumberState[], number | null, Array<{ visitId: number; releasedAt: number }>, number]> = [
    ['never-used number first', [free(1, now - 5000), free(2)], 2, [], 0],
    ['least recently released next', [free(1, now - 1000), free(2, now - 9000), free(3, now - 5000)], 2, [], 0],
    ['lowest id among equals', [free(3), free(2)], 2, [], 0],
    ['held numbers are skipped', [held(1, 10, now - 1000), free(2, now - 100)], 2, [], 1],
    ['exhausted: every number held', [held(1, 10, now - 1000), held(2, 11, now - 59_999)], null, [], 2],
    ['an idle hold is released at last heartbeat + idle, then reusable', [held(1, 10, now - 60_000)], 1, [{ visitId: 10, releasedAt: now }], 0],
    ['expired hold vs older free number: LRU keeps the just-released one back', [held(1, 10, now - 70_000), free(2, now - 500_000)], 2, [{ visitId: 10, releasedAt: now - 10_000 }], 0],
    ['empty pool', [], null, [], 0],
  ];
  it.each(cases)('%s', (_n, numbers, expected, expired, heldCount) => {
    const c = choosePoolNumber(numbers, pool, now);
    expect(c.trackingNumberId).toBe(expected);
    expect(c.expired).toEqual(expired);
    expect(c.held).toBe(heldCount);
    expect(c.total).toBe(numbers.length);
  });

  it.each([
    ['heartbeat just now', now, null, 'held'],
    ['idle just under the limit', now - 59_999, null, 'held'],
    ['idled out, within grace', now - 60_000, null, 'in-grace'],
    ['idled out, grace over', now - 90_001, null, 'gone'],
    ['released explicitly, within grace', now - 10, now - 30_000, 'in-grace'],
    ['released explicitly, grace over', now - 10, now - 30_001, 'gone'],
  ] as const)('holdState: %s', (_n, lastSeenAt, releasedAt, state) => {
    expect(holdState({ lastSeenAt, releasedAt }, pool, now)).toBe(state);
  });

  it.each([
    [0, 10, 0.8, 0, false],
    [8, 10, 0.8, 0.8, false],
    [9, 10, 0.8, 0.9, true],
    [0, 0, 0.8, 1, true],
  ])('utilisation %i/%i (warn %f)', (h, total, warn, utilization, warning) => {
    expect(poolUtilization(h, total, warn)).toEqual({ held: h, total, utilization, warning });
  });
});

describe('allowed origins', () => {
  it.each([
    ['https://acme.example', ['acme.example'], true],
    ['http://acme.example:8080', ['acme.example'], true],
    ['https://www.acme.example', ['acme.example'], false],
    ['https://www.acme.example', ['*.acme.example'], true],
    ['https://acme.example', ['*.acme.example'], false],
    ['https://evilacme.example', ['*.acme.example'], false],
    ['https://acme.example.evil.com', ['acme.example'], false],
    ['null', ['acme.example'], false],
    [undefined, ['acme.example'], false],
    ['file:///x', ['acme.example'], false],
    ['https://acme.example', [], false],
  ] as const)('%s with %j → %s', (origin, domains, allowed) => {
    expect(isAllowedOrigin(origin, domains)).toBe(allowed);
  });
});

describe('snippet pieces', () => {
  const fns = new Function(`${FIND_NUMBERS_JS}\n${FORMAT_LIKE_JS}\nreturn { RE: RE, isNum: isNum, formatLike: formatLike };`)() as {
    RE: RegExp;
    isNum: (s: string) => boolean;
    formatLike: (o: string, e164: string, display: string) => string;
  };
  const found = (text: string) => (text.match(fns.RE) ?? []).filter(fns.isNum);

  it.each([
    ['Call (555) 123-4567 today', ['(555) 123-4567']],
    ['Call 555-123-4567.', ['555-123-4567']],
    ['Call 555.123.4567', ['555.123.4567']],
    ['Call 555 123 4567', ['555 123 4567']],
    ['Call +1 555 123 4567', ['+1 555 123 4567']],
    ['Call 1-800-555-1234', ['1-800-555-1234']],
    ['Call +15551234567', ['+15551234567']],
    ['London +44 20 7946 0958', ['+44 20 7946 0958']],
    ['Order 12345, zip 90210, year 2026', []],
    ['two: (555) 123-4567 or 555-123-0000', ['(555) 123-4567', '555-123-0000']],
  ])('finds numbers in %j', (text, expected) => {
    expect(found(text)).toEqual(expected);
  });

  it.each([
    ['(555) 123-4567', '+15559876543', '(555) 987-6543'],
    ['555.123.4567', '+15559876543', '555.987.6543'],
    ['+1 555 123 4567', '+15559876543', '+1 555 987 6543'],
    ['1-800-555-1234', '+15559876543', '1-555-987-6543'],
    ['+15551234567', '+15559876543', '+15559876543'],
    ['+44 20 7946 0958', '+15559876543', 'DISPLAY'],
  ])('formats %s like the original', (original, e164, expected) => {
    expect(fns.formatLike(original, e164, 'DISPLAY')).toBe(expected);
  });

  it('display numbers', () => {
    expect(displayNumber('+15551234567')).toBe('(555) 123-4567');
    expect(displayNumber('+442079460958')).toBe('+442079460958');
  });

  it('is small: under 5 KB served, under 2 KB gzipped, and parses', () => {
    const { bytes, gzipBytes } = snippetSize();
    expect(bytes).toBeLessThan(5120);
    expect(gzipBytes).toBeLessThan(2048);
    expect(() => new Function(SNIPPET_JS)).not.toThrow();
  });
});

describe('token buckets', () => {
  it('allows the burst, then refills at the rate, per key', () => {
    let t = 0;
    const b = createTokenBuckets({ burst: 3, perSecond: 1 }, () => t);
    expect([b.take('a'), b.take('a'), b.take('a')]).toEqual([0, 0, 0]);
    expect(b.take('a')).toBe(1);
    expect(b.take('b')).toBe(0);
    t += 1000;
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBe(1);
  });

  it('heartbeats a third of the idle time apart, 5–60 s', () => {
    expect(heartbeatSecondsFor(900)).toBe(60);
    expect(heartbeatSecondsFor(60)).toBe(20);
    expect(heartbeatSecondsFor(6)).toBe(5);
  });
});
