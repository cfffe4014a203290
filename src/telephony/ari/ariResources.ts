/**
 * ARI's REST resources as typed calls (channels, bridges, recordings, endpoints, applications, the
 * asterisk resource), each one request through the client's transport (createAriTransport.ts).
 */
import type { AriRequestOptions, AriHttpMethod } from './createAriTransport.js';
import { isNotFound } from './AriHttpError.js';
import type { AriApplication, AriBridge, AriChannel, AriClient, AriEndpoint, AriLiveRecording, AriPlayback } from './types.js';

type Request = <T>(method: AriHttpMethod, path: string, options?: AriRequestOptions) => Promise<T>;

const enc = encodeURIComponent;

export function ariResources(request: Request): Pick<AriClient, 'channels' | 'bridges' | 'recordings' | 'endpoints' | 'applications' | 'asterisk'> {
  return {
    channels: {
      list: () => request<AriChannel[]>('GET', '/channels'),
      get: (id) => request<AriChannel>('GET', `/channels/${enc(id)}`),
      create: (params) =>
        request<AriChannel>('POST', '/channels/create', {
          query: {
            endpoint: params.endpoint,
            app: params.app,
            appArgs: params.appArgs,
            channelId: params.channelId,
            otherChannelId: params.otherChannelId,
            originator: params.originator,
            formats: params.formats,
          },
          body: params.variables ? { variables: params.variables } : undefined,
        }),
      dial: async (id, params) => {
        await request<void>('POST', `/channels/${enc(id)}/dial`, {
          query: { caller: params?.caller, timeout: params?.timeout },
        });
      },
      answer: async (id) => {
        await request<void>('POST', `/channels/${enc(id)}/answer`);
      },
      ring: async (id) => {
        await request<void>('POST', `/channels/${enc(id)}/ring`);
      },
      ringStop: async (id) => {
        await request<void>('DELETE', `/channels/${enc(id)}/ring`);
      },
      hangup: async (id, params) => {
        // ARI takes reason_code or reason, not both; the Q.850 code is the more precise one.
        const query =
          params?.reasonCode !== undefined ? { reason_code: params.reasonCode } : { reason: params?.reason };
        await request<void>('DELETE', `/channels/${enc(id)}`, { query });
      },
      continueInDialplan: async (id, params) => {
        await request<void>('POST', `/channels/${enc(id)}/continue`, {
          query: {
            context: params?.context,
            extension: params?.extension,
            priority: params?.priority,
            label: params?.label,
          },
        });
      },
      setVariable: async (id, variable, value) => {
        await request<void>('POST', `/channels/${enc(id)}/variable`, { query: { variable, value } });
      },
      getVariable: async (id, variable) =>
        (await request<{ value?: string }>('GET', `/channels/${enc(id)}/variable`, { query: { variable } }))?.value ?? '',
      progress: async (id) => {
        await request<void>('POST', `/channels/${enc(id)}/progress`);
      },
      play: (id, params) =>
        request<AriPlayback>('POST', `/channels/${enc(id)}/play/${enc(params.playbackId)}`, {
          query: { media: params.media },
        }),
      snoop: (id, params) =>
        request<AriChannel>('POST', `/channels/${enc(id)}/snoop`, {
          query: { spy: params.spy, app: params.app, appArgs: params.appArgs, snoopId: params.snoopId },
        }),
      record: (id, params) =>
        request<AriLiveRecording>('POST', `/channels/${enc(id)}/record`, {
          query: {
            name: params.name,
            format: params.format,
            ifExists: params.ifExists,
            beep: params.beep,
            terminateOn: params.terminateOn,
          },
        }),
    },

    bridges: {
      list: () => request<AriBridge[]>('GET', '/bridges'),
      get: (id) => request<AriBridge>('GET', `/bridges/${enc(id)}`),
      create: (params) =>
        request<AriBridge>('POST', '/bridges', {
          query: { type: params.type ?? 'mixing', bridgeId: params.bridgeId, name: params.name },
        }),
      addChannel: async (id, channelIds, params) => {
        await request<void>('POST', `/bridges/${enc(id)}/addChannel`, {
          query: {
            channel: channelIds.join(','),
            role: params?.role,
            inhibitConnectedLineUpdates: params?.inhibitConnectedLineUpdates,
          },
        });
      },
      removeChannel: async (id, channelIds) => {
        await request<void>('POST', `/bridges/${enc(id)}/removeChannel`, { query: { channel: channelIds.join(',') } });
      },
      destroy: async (id) => {
        await request<void>('DELETE', `/bridges/${enc(id)}`);
      },
      record: (id, params) =>
        request<AriLiveRecording>('POST', `/bridges/${enc(id)}/record`, {
          query: {
            name: params.name,
            format: params.format,
            ifExists: params.ifExists,
            beep: params.beep,
            terminateOn: params.terminateOn,
          },
        }),
    },

    recordings: {
      stopLive: async (name) => {
        await request<void>('POST', `/recordings/live/${enc(name)}/stop`);
      },
      muteLive: async (name, muted) => {
        await request<void>(muted ? 'POST' : 'DELETE', `/recordings/live/${enc(name)}/mute`);
      },
      getStored: async (name) => {
        try {
          const stored = await request<{ name: string; format: string }>('GET', `/recordings/stored/${enc(name)}`);
          return { name: stored.name, format: stored.format };
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      },
    },

    endpoints: {
      list: () => request<AriEndpoint[]>('GET', '/endpoints'),
    },

    applications: {
      get: (name) => request<AriApplication>('GET', `/applications/${enc(name)}`),
      setEventFilter: async (name, allowed) => {
        await request<void>('PUT', `/applications/${enc(name)}/eventFilter`, {
          body: { allowed: allowed.map((type) => ({ type })) },
        });
      },
      subscribe: async (name, eventSource) => {
        await request<void>('POST', `/applications/${enc(name)}/subscription`, { query: { eventSource } });
      },
    },

    asterisk: {
      info: () => request('GET', '/asterisk/info'),
      getVariable: async (variable) => (await request<{ value?: string }>('GET', '/asterisk/variable', { query: { variable } }))?.value ?? '',
      setVariable: async (variable, value) => {
        await request<void>('POST', '/asterisk/variable', { query: { variable, value } });
      },
    },
  };
}
