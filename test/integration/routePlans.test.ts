import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createAnnouncement } from '../../src/persistence/announcementRepository.js';
import type { Store } from '../../src/persistence/store.js';
import { insertRow } from '../support/storeRows.js';
import { getRoutePlanRow, toRoutePlan } from '../../src/persistence/routePlanRepository.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const TOKEN = 'test-admin-token';
const auth = { authorization: `Bearer ${TOKEN}` };


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('route plans on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;

  beforeEach(async () => {
    store = await open();
    app = buildApp({
      store,
      logger: pino({ level: 'silent' }),
      adminToken: TOKEN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  async function createAccount(name = 'Acme'): Promise<number> {
    const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: { name } });
    expect(res.statusCode).toBe(201);
    return (res.json() as { id: number }).id;
  }

  const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({ method, url, headers: auth, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });

  function planBody(accountId: number, over: Record<string, unknown> = {}) {
    return {
      accountId,
      name: 'Sales',
      timeZone: 'America/New_York',
      steps: [
        { name: 'office', strategy: 'sequential', destinations: [{ target: '(555) 000-1111', ringTimeoutSeconds: 15 }, { target: '+15550002222' }], ringTimeoutSeconds: 20 },
        { name: 'team', strategy: 'simultaneous', destinations: [{ target: '+15550003333' }, { target: 'sip:agent@pbx.example.com:5062' }] },
        { name: 'night', strategy: 'round-robin', destinations: [{ target: '+15550004444', weight: 3 }, { target: '+15550005555' }] },
      ],
      schedule: { open: { mon: [['09:00', '17:00']], tue: [['09:00', '12:00'], ['13:00', '17:00']] }, closedDates: ['2026-12-25'], afterHoursStep: 'night' },
      whisper: { sound: 'default', text: 'call from Google Ads' },
      screening: true,
      final: { kind: 'reject', sipCode: 480 },
      ...over,
    };
  }

  function expectError(res: { statusCode: number; json: () => unknown }, status: number, code: string, field: string, message?: RegExp) {
    expect(res.statusCode).toBe(status);
    const body = res.json() as { error: { code: string; field?: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.field).toBe(field);
    if (message) expect(body.error.message).toMatch(message);
  }

  describe('route plans CRUD', () => {
    it('creates with normalised destinations and defaults, reads, lists by account', async () => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/route-plans', planBody(accountId));
      expect(res.statusCode).toBe(201);
      const plan = res.json();
      expect(plan).toEqual({
        id: expect.any(Number),
        accountId,
        name: 'Sales',
        timeZone: 'America/New_York',
        callerIdMode: 'caller',
        steps: [
          { name: 'office', strategy: 'sequential', destinations: [{ target: '+15550001111', ringTimeoutSeconds: 15 }, { target: '+15550002222' }], ringTimeoutSeconds: 20 },
          { name: 'team', strategy: 'simultaneous', destinations: [{ target: '+15550003333' }, { target: 'sip:agent@pbx.example.com:5062' }], ringTimeoutSeconds: 30 },
          { name: 'night', strategy: 'round-robin', destinations: [{ target: '+15550004444', weight: 3 }, { target: '+15550005555' }], ringTimeoutSeconds: 30 },
        ],
        schedule: { open: { mon: [['09:00', '17:00']], tue: [['09:00', '12:00'], ['13:00', '17:00']] }, closedDates: ['2026-12-25'], afterHoursStep: 'night' },
        whisper: { sound: 'default', text: 'call from Google Ads' },
        screening: true,
        final: { kind: 'reject', sipCode: 480 },
        trackingNumberIds: [],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect((await req('GET', `/v1/route-plans/${plan.id}`)).json()).toEqual(plan);

      // What the router reads is the same plan.
      expect(toRoutePlan((await store.run(getRoutePlanRow(plan.id)))!)).toMatchObject({ id: plan.id, timeZone: 'America/New_York', steps: plan.steps, final: plan.final });

      const other = await createAccount('Other');
      await req('POST', '/v1/route-plans', planBody(other, { name: 'Other plan' }));
      expect((await req('GET', '/v1/route-plans')).json().routePlans).toHaveLength(2);
      const onlyOther = (await req('GET', `/v1/route-plans?accountId=${other}`)).json().routePlans;
      expect(onlyOther.map((p: { name: string }) => p.name)).toEqual(['Other plan']);
    });

    it('defaults: caller ID of the caller, no schedule, no whisper, no screening, voicemail with the default greeting', async () => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/route-plans', {
        accountId,
        name: 'Simple',
        timeZone: 'utc',
        steps: [{ name: 'main', strategy: 'sequential', destinations: [{ target: '+15550001111' }] }],
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        timeZone: 'UTC',
        callerIdMode: 'caller',
        schedule: null,
        whisper: null,
        screening: false,
        final: { kind: 'voicemail', greeting: 'default' },
      });
    });

    it('plays uploaded announcements of the account (or global ones) as whisper and voicemail greeting', async () => {
      const accountId = await createAccount();
      const other = await createAccount('Other');
      const mine = await store.run(createAnnouncement({ accountId, name: 'whisper', soundName: 'callroute/announcement-1' }));
      const global = await store.run(createAnnouncement({ accountId: null, name: 'greeting', soundName: 'callroute/announcement-2' }));
      const theirs = await store.run(createAnnouncement({ accountId: other, name: 'theirs', soundName: 'callroute/announcement-3' }));
      const res = await req('POST', '/v1/route-plans', planBody(accountId, { whisper: { sound: 'custom', announcementId: mine.id }, final: { kind: 'voicemail', greeting: global.id } }));
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ whisper: { sound: 'custom', announcementId: mine.id }, final: { kind: 'voicemail', greeting: global.id } });
      // An id stays a number (not coerced to a string by the greeting's 'default' | id schema).
      expect(toRoutePlan((await store.run(getRoutePlanRow(res.json().id)))!).final).toEqual({ kind: 'voicemail', greeting: global.id });
      const foreign = await req('POST', '/v1/route-plans', planBody(accountId, { final: { kind: 'voicemail', greeting: theirs.id } }));
      expectError(foreign, 400, 'CR_ERR_VALIDATION', 'body.final.greeting', new RegExp(`announcement ${theirs.id} belongs to another account`));
    });

    it('PUT replaces a plan, PATCH changes fields and re-validates the whole plan', async () => {
      const accountId = await createAccount();
      const { id } = (await req('POST', '/v1/route-plans', planBody(accountId))).json();
      const put = await req('PUT', `/v1/route-plans/${id}`, {
        name: 'Renamed',
        timeZone: 'Europe/London',
        callerIdMode: 'tracking',
        steps: [{ name: 'one', strategy: 'sequential', destinations: [{ target: '+15550001111' }] }],
      });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toMatchObject({ name: 'Renamed', timeZone: 'Europe/London', callerIdMode: 'tracking', schedule: null, screening: false });

      const patch = await req('PATCH', `/v1/route-plans/${id}`, { screening: true });
      expect(patch.statusCode).toBe(200);
      expect(patch.json()).toMatchObject({ name: 'Renamed', screening: true, steps: [{ name: 'one' }] });

      // A schedule whose after-hours step does not exist is refused, and nothing changes.
      const bad = await req('PATCH', `/v1/route-plans/${id}`, { schedule: { open: { mon: [['09:00', '17:00']] }, afterHoursStep: 'nope' } });
      expectError(bad, 400, 'CR_ERR_VALIDATION', 'body.schedule.afterHoursStep', /no step is named nope/);
      expect((await req('GET', `/v1/route-plans/${id}`)).json().schedule).toBeNull();
    });

    it('404s unknown plans on every route', async () => {
      for (const [method, payload] of [
        ['GET', undefined],
        ['PUT', { name: 'x', timeZone: 'UTC', steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target: '+15550001111' }] }] }],
        ['PATCH', { name: 'x' }],
        ['DELETE', undefined],
      ] as const) {
        expectError(await req(method, '/v1/route-plans/999', payload), 404, 'CR_ERR_NOT_FOUND', 'params.id');
      }
    });

    it('deletes a plan no number uses; refuses one in use (409 naming the numbers)', async () => {
      const accountId = await createAccount();
      const { id } = (await req('POST', '/v1/route-plans', planBody(accountId))).json();
      const tn = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '+15550001111', routePlanId: id });
      expect(tn.statusCode).toBe(201);
      expect((await req('GET', `/v1/route-plans/${id}`)).json().trackingNumberIds).toEqual([tn.json().id]);
      expectError(await req('DELETE', `/v1/route-plans/${id}`), 409, 'CR_ERR_ROUTE_PLAN_IN_USE', 'params.id', new RegExp(`tracking number ${tn.json().id}`));
      expect((await req('PATCH', `/v1/tracking-numbers/${tn.json().id}`, { routePlanId: null })).json().routePlanId).toBeNull();
      expect((await req('DELETE', `/v1/route-plans/${id}`)).statusCode).toBe(204);
      expect((await req('GET', `/v1/route-plans/${id}`)).statusCode).toBe(404);
    });

    it('is admin only: a customer token gets 403', async () => {
      const accountId = await createAccount();
      const token = (await req('POST', `/v1/accounts/${accountId}/tokens`, { name: 'crm' })).json().token as string;
      for (const url of ['/v1/route-plans', '/v1/dial-allowlist']) {
        const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
        expect(res.statusCode).toBe(403);
      }
    });
  });

  describe('route plan validation: 400s that say what is wrong and where', () => {
    const allDay = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]]));
    it.each([
      ['unknown time zone', { timeZone: 'America/Springfield' }, 'body.timeZone', /America\/Springfield is not a known IANA time zone/],
      [
        'overlapping hours',
        { schedule: { open: { wed: [['09:00', '13:00'], ['12:00', '17:00']] }, afterHoursStep: 'night' } },
        'body.schedule.open.wed.1',
        /body.schedule.open.wed: hours 09:00–13:00 and 12:00–17:00 overlap/,
      ],
      [
        'hours past midnight',
        { schedule: { open: { fri: [['20:00', '02:00']] }, afterHoursStep: 'night' } },
        'body.schedule.open.fri.0',
        /ends before it starts/,
      ],
      [
        'a step nobody can reach (no open hours)',
        { schedule: { open: {}, afterHoursStep: 'night' } },
        'body.schedule.open',
        /no open hours, so nobody can reach step office, team/,
      ],
      [
        'a step nobody can reach (open around the clock)',
        { schedule: { open: allDay, afterHoursStep: 'night' } },
        'body.schedule.afterHoursStep',
        /nobody can reach step night/,
      ],
      ['an unknown after-hours step', { schedule: { open: { mon: [['09:00', '17:00']] }, afterHoursStep: 'nite' } }, 'body.schedule.afterHoursStep', /no step is named nite/],
      ['a closed date that is not a date', { schedule: { open: { mon: [['09:00', '17:00']] }, closedDates: ['25/12/2026'], afterHoursStep: 'night' } }, 'body.schedule.closedDates.0', /not a date YYYY-MM-DD/],
      [
        'a weight on a simultaneous step',
        { steps: [{ name: 'a', strategy: 'simultaneous', destinations: [{ target: '+15550001111', weight: 2 }] }], schedule: null },
        'body.steps.0.destinations.0.weight',
        /only round-robin steps use weights/,
      ],
      [
        'a weight of 0',
        { steps: [{ name: 'a', strategy: 'round-robin', destinations: [{ target: '+15550001111', weight: 0 }] }], schedule: null },
        'body.steps.0.destinations.0.weight',
        /must be >= 1/,
      ],
      ['an unknown strategy', { steps: [{ name: 'a', strategy: 'random', destinations: [{ target: '+15550001111' }] }], schedule: null }, 'body.steps.0.strategy', /must be equal to one of the allowed values/],
      ['a step without destinations', { steps: [{ name: 'a', strategy: 'sequential', destinations: [] }], schedule: null }, 'body.steps.0.destinations', /must NOT have fewer than 1 items/],
      ['no steps', { steps: [] }, 'body.steps', /must NOT have fewer than 1 items/],
      [
        'two steps with one name',
        { steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target: '+15550001111' }] }, { name: 'a', strategy: 'sequential', destinations: [{ target: '+15550002222' }] }], schedule: null },
        'body.steps.1.name',
        /another step is already named a/,
      ],
      ['a destination that is no number', { steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target: 'sip:nobody' }] }], schedule: null }, 'body.steps.0.destinations.0.target', /sip:nobody is not an E.164 number or a sip:user@host/],
      ['a rejection without a SIP code', { final: { kind: 'reject' } }, 'body.final.sipCode', /required when body.final.kind is 'reject'/],
      ['a rejection with an odd SIP code', { final: { kind: 'reject', sipCode: 200 } }, 'body.final.sipCode', /allowed values/],
      ['a voicemail greeting that does not exist', { final: { kind: 'voicemail', greeting: 77 } }, 'body.final.greeting', /announcement 77 does not exist/],
      ['a custom whisper without an announcement', { whisper: { sound: 'custom' } }, 'body.whisper.announcementId', /required when whisper.sound is 'custom'/],
      ['a custom whisper with an unknown announcement', { whisper: { sound: 'custom', announcementId: 5 } }, 'body.whisper.announcementId', /announcement 5 does not exist/],
      ['an unknown field', { color: 'blue' }, 'body.color', /body.color is not allowed/],
      ['an unknown account', { accountId: 999 }, 'body.accountId', /account 999 does not exist/],
    ])('%s', async (_name, over, field, message) => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/route-plans', planBody(accountId, over));
      expectError(res, 400, 'CR_ERR_VALIDATION', field, message);
      expect((await req('GET', '/v1/route-plans')).json().routePlans).toEqual([]);
    });

    it('lists several issues in one message, naming the first field', async () => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/route-plans', planBody(accountId, { timeZone: 'Nowhere/City', schedule: { open: { mon: [['10:00', '09:00']] }, afterHoursStep: 'night' } }));
      expectError(res, 400, 'CR_ERR_VALIDATION', 'body.timeZone', /Nowhere\/City.*; body.schedule.open.mon.0: 10:00–09:00 ends before it starts/);
    });
  });

  describe('toll-fraud guard', () => {
    const oneStep = (target: string) => ({ steps: [{ name: 'only', strategy: 'sequential', destinations: [{ target }] }], schedule: null });

    it.each([
      ['US 900 premium-rate', '+1 900 555 0100', 'body.steps.0.destinations.0.target', /\+19005550100 is a premium-rate number \(US\/Canada 900/],
      ['976 pay-per-call', '+19765550100', 'body.steps.0.destinations.0.target', /\+19765550100 is a premium-rate number/],
      ['UK number with an empty allowlist (default country +1 only)', '+442071234567', 'body.steps.0.destinations.0.target', /outside the default country code \(\+1; the dial allowlist is empty\)/],
      ['Jamaica under +1', '+18765550100', 'body.steps.0.destinations.0.target', /Jamaica.*billed as international/],
      ['a SIP URI calling a premium-rate number', 'sip:+19005550100@gw.example.com', 'body.steps.0.destinations.0.target', /premium-rate/],
    ])('refuses a plan with %s, naming the destination', async (_name, target, field, message) => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/route-plans', planBody(accountId, oneStep(target)));
      expectError(res, 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', field, message);
    });

    it('names the destination in a later step', async () => {
      const accountId = await createAccount();
      const body = planBody(accountId);
      body.steps[2]!.destinations[1] = { target: '+19005551234' };
      expectError(await req('POST', '/v1/route-plans', body), 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', 'body.steps.2.destinations.1.target', /\+19005551234 is a premium-rate number/);
    });

    it('the allowlist: GET, PUT normalised, premium-rate refused inside an allowed country, other countries refused', async () => {
      const empty = await req('GET', '/v1/dial-allowlist');
      expect(empty.json().entries).toEqual([]);
      expect(empty.json().premiumRatePrefixes).toContainEqual({ prefix: '+449', what: 'UK 09 premium-rate service' });

      const put = await req('PUT', '/v1/dial-allowlist', {
        entries: [
          { kind: 'prefix', value: ' +1 ', note: 'US and Canada' },
          { kind: 'prefix', value: '+44' },
          { kind: 'sip-host', value: 'PBX.example.com' },
        ],
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().entries).toEqual([
        { kind: 'prefix', value: '+1', note: 'US and Canada' },
        { kind: 'prefix', value: '+44', note: null },
        { kind: 'sip-host', value: 'pbx.example.com', note: null },
      ]);
      expect((await req('GET', '/v1/dial-allowlist')).json().entries).toHaveLength(3);

      const accountId = await createAccount();
      const cases: [string, number, string?, RegExp?][] = [
        ['+442071234567', 201],
        ['sip:agent@pbx.example.com', 201],
        ['+448712345678', 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', /\+448712345678 is a premium-rate number \(UK 087/],
        ['+449098790000', 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', /UK 09 premium-rate/],
        ['+33123456789', 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', /\+33123456789 is outside the dial allowlist \(\+1, \+44\)/],
        ['sip:agent@evil.example.net', 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', /SIP host evil.example.net is not in the dial allowlist/],
      ];
      for (const [target, status, code, message] of cases) {
        const res = await req('POST', '/v1/route-plans', planBody(accountId, oneStep(target)));
        expect(res.statusCode, target).toBe(status);
        if (code) expectError(res, status, code, 'body.steps.0.destinations.0.target', message);
      }
    });

    it('refuses an allowlist entry that is not one, naming it', async () => {
      const res = await req('PUT', '/v1/dial-allowlist', { entries: [{ kind: 'prefix', value: '+1' }, { kind: 'prefix', value: '44' }] });
      expectError(res, 400, 'CR_ERR_VALIDATION', 'body.entries.1.value', /44 is not a prefix entry/);
      const host = await req('PUT', '/v1/dial-allowlist', { entries: [{ kind: 'sip-host', value: 'sip:pbx.example.com:5060' }] });
      expectError(host, 400, 'CR_ERR_VALIDATION', 'body.entries.0.value');
    });

    it('refuses an allowlist that would leave saved destinations outside it (409 naming them)', async () => {
      const accountId = await createAccount();
      await req('PUT', '/v1/dial-allowlist', { entries: [{ kind: 'prefix', value: '+1' }, { kind: 'prefix', value: '+44' }] });
      const plan = (await req('POST', '/v1/route-plans', planBody(accountId, oneStep('+442071234567')))).json();
      const res = await req('PUT', '/v1/dial-allowlist', { entries: [{ kind: 'prefix', value: '+1' }] });
      expectError(res, 409, 'CR_ERR_ALLOWLIST_CONFLICT', 'body.entries', new RegExp(`route plan ${plan.id} \\(Sales\\) step only: \\+442071234567 is outside`));
      expect((await req('GET', '/v1/dial-allowlist')).json().entries).toHaveLength(2);
    });

    it('checks a tracking number’s own destination on create and update', async () => {
      const accountId = await createAccount();
      const premium = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '1-900-555-0100' });
      expectError(premium, 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', 'body.destination', /\+19005550100 is a premium-rate number/);
      const abroad = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '+33123456789' });
      expectError(abroad, 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', 'body.destination', /outside the default country code/);
      const ok = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '+15550001111' });
      expect(ok.statusCode).toBe(201);
      const patch = await req('PATCH', `/v1/tracking-numbers/${ok.json().id}`, { destination: '+44 909 879 0000' });
      expectError(patch, 400, 'CR_ERR_DESTINATION_NOT_ALLOWED', 'body.destination', /premium-rate/);
      expect((await req('GET', `/v1/tracking-numbers/${ok.json().id}`)).json().destination).toBe('+15550001111');
    });
  });

  describe('tracking numbers: route plan and concurrent-call cap', () => {
    it('stores routePlanId and maxConcurrentCalls, and clears them', async () => {
      const accountId = await createAccount();
      const plan = (await req('POST', '/v1/route-plans', planBody(accountId))).json();
      const created = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '+15550001111', routePlanId: plan.id, maxConcurrentCalls: 3 });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ routePlanId: plan.id, maxConcurrentCalls: 3 });
      const cleared = await req('PATCH', `/v1/tracking-numbers/${created.json().id}`, { routePlanId: null, maxConcurrentCalls: null });
      expect(cleared.json()).toMatchObject({ routePlanId: null, maxConcurrentCalls: null });
    });

    it.each([
      ['an unknown plan', { routePlanId: 999 }, 'body.routePlanId', /route plan 999 does not exist/],
      ['a cap of 0', { maxConcurrentCalls: 0 }, 'body.maxConcurrentCalls', /must be >= 1/],
    ])('refuses %s', async (_name, over, field, message) => {
      const accountId = await createAccount();
      const res = await req('POST', '/v1/tracking-numbers', { accountId, did: '+15551230000', destination: '+15550001111', ...over });
      expectError(res, 400, 'CR_ERR_VALIDATION', field, message);
    });

    it('refuses another account’s plan, on create, on patch and when moving the number to another account', async () => {
      const a = await createAccount('A');
      const b = await createAccount('B');
      const planA = (await req('POST', '/v1/route-plans', planBody(a))).json();
      const onB = await req('POST', '/v1/tracking-numbers', { accountId: b, did: '+15551230000', destination: '+15550001111', routePlanId: planA.id });
      expectError(onB, 400, 'CR_ERR_VALIDATION', 'body.routePlanId', new RegExp(`route plan ${planA.id} belongs to another account`));
      const tn = (await req('POST', '/v1/tracking-numbers', { accountId: a, did: '+15551230000', destination: '+15550001111', routePlanId: planA.id })).json();
      expectError(await req('PATCH', `/v1/tracking-numbers/${tn.id}`, { accountId: b }), 400, 'CR_ERR_VALIDATION', 'body.routePlanId', /belongs to another account/);
      const tnB = (await req('POST', '/v1/tracking-numbers', { accountId: b, did: '+15551230001', destination: '+15550001111' })).json();
      expectError(await req('PATCH', `/v1/tracking-numbers/${tnB.id}`, { routePlanId: planA.id }), 400, 'CR_ERR_VALIDATION', 'body.routePlanId');
    });
  });

  describe('call records', () => {
    it('show the step and destination that answered and every destination tried', async () => {
      const accountId = await createAccount();
      const tried = [
        // As the session writes them (`result`) and as routeOutcomeFields writes them (`outcome`).
        { step: 'office', target: '+15550001111', result: 'no-answer' },
        { step: 'team', target: '+15550003333', outcome: 'cancelled' },
        { step: 'team', target: 'sip:agent@pbx.example.com', outcome: 'answered' },
      ];
      const row = await insertRow(store, 'calls', {
          accountId,
          did: '+15551230000',
          arrivedAt: Date.parse('2026-11-23T15:00:00Z'),
          inboundChannelId: 'chan-1',
          finished: true,
          disposition: 'answered',
          routeStep: 'team',
          answeredDestination: 'sip:agent@pbx.example.com',
          destinationsTried: JSON.stringify(tried),
        });
      const one = (await req('GET', `/v1/calls/${row.id}`)).json();
      expect(one).toMatchObject({
        routeStep: 'team',
        answeredDestination: 'sip:agent@pbx.example.com',
        destinationsTried: [
          { step: 'office', target: '+15550001111', outcome: 'no-answer' },
          { step: 'team', target: '+15550003333', outcome: 'cancelled' },
          { step: 'team', target: 'sip:agent@pbx.example.com', outcome: 'answered' },
        ],
      });
      const listed = (await req('GET', '/v1/calls')).json().calls[0];
      expect(listed.destinationsTried).toEqual(one.destinationsTried);
    });

    it('of calls without a plan have no route fields', async () => {
      const row = await insertRow(store, 'calls', { did: '+15551230000', arrivedAt: Date.now(), inboundChannelId: 'chan-2', finished: true, disposition: 'rejected' });
      expect((await req('GET', `/v1/calls/${row.id}`)).json()).toMatchObject({ routeStep: null, answeredDestination: null, destinationsTried: [] });
    });
  });
});
