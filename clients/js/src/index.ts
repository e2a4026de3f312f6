// The apps' side of the AppointmentChat service, in place of their mockStreamBackend.ts: the guide's functions, with
// the guide's signatures and answers, calling the service. Request and answer types come from the service's OpenAPI
// document (openapi.json, turned into src/generated/openapi.ts by the build).
import { StreamChat, type Channel, type StreamChatOptions } from 'stream-chat';
import { ChatBackendError } from './errors.js';
import type { components } from './generated/openapi.js';

export { ChatBackendError, type Problem } from './errors.js';

type Schemas = components['schemas'];
/** `POST /api/chat/token`'s answer: a Stream user token and when it expires (Unix milliseconds). */
export type StreamToken = Schemas['TokenResponse'];
/** `GET /api/chat/config`'s answer: what `StreamChat.getInstance(apiKey, { baseURL })` needs. */
export type ChatConfig = Schemas['ChatConfigResponse'];
/** `POST /api/chat/channels`'s body. */
export type CreateChannelRequest = Schemas['CreateChannelRequest'];
/** `POST /api/chat/channels`'s answer. */
export type AppointmentChat = Schemas['ChannelResponse'];
/** One chat of `GET /api/chat/channels`. */
export type ChatChannelSummary = Schemas['ChannelListItem'];
/** `GET /api/chat/channels`'s answer: `{ channels, nextCursor }`. */
export type ChatChannelList = Schemas['ChannelListResponse'];
/** `pending`, `active` or `ended`. */
export type ChatStatus = Schemas['ChatStatus'];
/** `POST /api/chat/channels/{channelId}/end`'s answer: `{ success: true }`. */
export type EndChatResult = Schemas['EndChannelResponse'];

export interface ChatBackendOptions {
  /** Where the service is, e.g. `https://chat-api.example.com` (its `/api/...` paths are added). */
  baseUrl: string;
  /** The signed-in user's JWT (e.g. a Cognito ID token), sent as `Authorization: Bearer`; asked for on every call. */
  getAuthToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** A StreamChat client to use instead of `StreamChat.getInstance` with `GET /api/chat/config`'s key and URL. */
  client?: StreamChat;
  /** Options for the client made with `GET /api/chat/config` (its `baseURL` is the service's). */
  streamOptions?: StreamChatOptions;
  /** The fetch to call the service with; the global one by default. */
  fetch?: typeof fetch;
}

/** Filters of the chat list. */
export interface ChatChannelQuery {
  /** Only chats where the caller is on this side. */
  role?: 'pet-owner' | 'vet';
  status?: ChatStatus;
  /** Page size: default 30, at most 100. */
  limit?: number;
  /** The previous page's `nextCursor`. */
  cursor?: string;
  /** For the `service` role: whose chats. */
  organisationId?: string;
}

/** What the apps know of the appointment when they open its chat (the guide's `appointmentData`). */
export interface AppointmentData {
  /** The appointment's start; must agree with the service's record when given (else 409). */
  dateTime?: string | Date | null;
  /** The appointment's pet owner; by default the connected user (the mobile app's case). A vet opening a chat gives it. */
  petOwnerId?: string;
}

export interface ChatBackend {
  /** The StreamChat client, made with `GET /api/chat/config`'s key and URL on first use (or the one given). */
  getChatClient(): Promise<StreamChat>;
  /**
   * Connects the user to Stream with a `tokenProvider` that calls `POST /api/chat/token`, so the SDK asks for a new
   * token whenever Stream says the old one expired or was revoked. Returns the client (already connected as this user:
   * returned as is).
   */
  connectStreamUser(userId: string, userName: string, userImage?: string): Promise<StreamChat>;
  /** Creates (or gets) the appointment's chat with `POST /api/chat/channels`, then watches it. The user must be connected. */
  getAppointmentChannel(appointmentId: string, vetId: string, appointmentData?: AppointmentData): Promise<Channel>;
  /** The caller's chats, newest activity first (`GET /api/chat/channels`): the PMS chat list. */
  getChatChannels(query?: ChatChannelQuery): Promise<ChatChannelList>;
  /** Ends a chat (`POST /api/chat/channels/{channelId}/end`): the practice's closing message, then frozen. Idempotent. */
  endChat(channelId: string): Promise<EndChatResult>;
  /** Disconnects the user from Stream (sign-out). */
  disconnectStreamUser(): Promise<void>;
}

export function createChatBackend(options: ChatBackendOptions): ChatBackend {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  let clientPromise: Promise<StreamChat> | undefined;
  let connecting: { userId: string; done: Promise<StreamChat> } | undefined;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const bearer = await options.getAuthToken();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (bearer) {
      headers.Authorization = `Bearer ${bearer}`;
    }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }

    let response: Response;
    try {
      const fetchImpl = options.fetch ?? globalThis.fetch;
      response = await fetchImpl(baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw ChatBackendError.network(method, path, error);
    }

    if (!response.ok) {
      throw await ChatBackendError.fromResponse(response, method, path);
    }

    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new ChatBackendError({ status: response.status, code: 'invalid-response', message: `${method} ${path} answered ${response.status} without a JSON body`, cause: error });
    }
  }

  function getChatClient(): Promise<StreamChat> {
    if (options.client) {
      return Promise.resolve(options.client);
    }

    clientPromise ??= call<ChatConfig>('GET', '/api/chat/config').then(
      (config) => StreamChat.getInstance(config.apiKey, { ...options.streamOptions, baseURL: config.baseUrl }),
      (error: unknown) => {
        clientPromise = undefined; // ask again next time
        throw error;
      },
    );
    return clientPromise;
  }

  async function connect(userId: string, userName: string, userImage?: string): Promise<StreamChat> {
    const client = await getChatClient();
    if (client.userID === userId) {
      return client;
    }
    if (client.userID) {
      await client.disconnectUser();
    }

    // The SDK wraps a failing tokenProvider in a plain Error; the app gets the service's refusal itself.
    let refusal: ChatBackendError | undefined;
    const tokenProvider = async () => {
      try {
        return (await call<StreamToken>('POST', '/api/chat/token', { userId })).token;
      } catch (error) {
        refusal = error instanceof ChatBackendError ? error : undefined;
        throw error;
      }
    };
    try {
      await client.connectUser({ id: userId, name: userName, ...(userImage ? { image: userImage } : {}) }, tokenProvider);
    } catch (error) {
      await client.disconnectUser().catch(() => {}); // not half-connected: the next call starts afresh
      throw refusal ?? error;
    }
    return client;
  }

  return {
    getChatClient,

    connectStreamUser(userId, userName, userImage) {
      // Screens that mount together connect once.
      if (connecting?.userId !== userId) {
        const attempt = { userId, done: connect(userId, userName, userImage) };
        connecting = attempt;
        attempt.done.then(
          () => { if (connecting === attempt) connecting = undefined; },
          () => { if (connecting === attempt) connecting = undefined; },
        );
      }
      return connecting!.done;
    },

    async getAppointmentChannel(appointmentId, vetId, appointmentData) {
      const client = await getChatClient();
      if (!client.userID) {
        throw new Error('User must be connected before accessing channels');
      }

      const dateTime = appointmentData?.dateTime;
      const request: CreateChannelRequest = {
        appointmentId,
        petOwnerId: appointmentData?.petOwnerId ?? client.userID,
        vetId,
        appointmentTime: dateTime instanceof Date ? dateTime.toISOString() : dateTime ?? undefined,
        activationMinutes: 5,
      };
      const chat = await call<AppointmentChat>('POST', '/api/chat/channels', request);
      const channel = client.channel(chat.channelType, chat.channelId);
      await channel.watch();
      return channel;
    },

    getChatChannels(query = {}) {
      const parameters = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) {
          parameters.set(name, String(value));
        }
      }
      const search = parameters.toString();
      return call<ChatChannelList>('GET', `/api/chat/channels${search ? `?${search}` : ''}`);
    },

    endChat(channelId) {
      return call<EndChatResult>('POST', `/api/chat/channels/${encodeURIComponent(channelId)}/end`);
    },

    async disconnectStreamUser() {
      const client = await getChatClient();
      if (client.userID) {
        await client.disconnectUser();
      }
    },
  };
}
