// The appointment chat as the apps run it: sign in, get a Stream token from this service, open the
// appointment's chat with POST /api/chat/channels, and talk through the official Stream SDK.
const $ = (id) => document.getElementById(id);

let StreamChat;
try {
  ({ StreamChat } = await import('/demo/stream-chat.js'));
} catch {
  fail('The Stream SDK is not built. Run "npm ci --prefix src/AppointmentChat.Api/Demo" and reload (README, "Try it in the browser").');
  throw new Error('stream-chat bundle missing');
}

let people = [];
let session; // { bearer, person }
let chat; // POST /api/chat/channels's answer
let channel; // the SDK's Channel

function say(text) {
  $('notice').textContent = text;
  $('notice').className = '';
}

function fail(text) {
  $('notice').textContent = text;
  $('notice').className = 'error';
}

async function api(method, path, body, bearer = session?.bearer) {
  const response = await fetch(path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new Error(json?.detail ?? `${method} ${path} answered ${response.status}`);
  }
  return json;
}

const signIn = (person) => api('POST', '/demo/session', { person }, null);
const personOf = (key) => people.find((p) => p.key === key);
const time = (iso) => new Date(iso).toLocaleTimeString();

async function book() {
  const practice = await signIn('practice');
  const owner = personOf('owner');
  const vet = personOf('vet');
  const activationMinutes = 1;
  const opensIn = Number($('opens-in').value) || 0;
  const startsAt = new Date(Date.now() + activationMinutes * 60_000 + opensIn * 1000);
  await api('PUT', `/api/appointments/${encodeURIComponent($('appointment').value)}`, {
    petOwnerId: owner.userId,
    petOwnerName: owner.name,
    petName: 'Rex',
    vetId: vet.userId,
    vetName: vet.name,
    organisationId: vet.organisationId,
    startsAt: startsAt.toISOString(),
    durationMinutes: 30,
    status: 'upcoming',
    chatActivationMinutes: activationMinutes,
  }, practice.bearer);
  say(`Booked: the chat opens at ${time(startsAt.getTime() - activationMinutes * 60_000)}.`);
}

async function openChat() {
  session = await signIn($('person').value);
  const me = session.person;
  chat = await api('POST', '/api/chat/channels', { appointmentId: $('appointment').value });

  // What the apps do: the API key and base URL from the service, tokens from the service, refreshed on expiry.
  const config = await api('GET', '/api/chat/config');
  const client = StreamChat.getInstance(config.apiKey, { baseURL: config.baseUrl });
  await client.connectUser({ id: me.userId, name: me.name }, async () => (await api('POST', '/api/chat/token', {})).token);
  $('sdk').textContent = client.getUserAgent();

  channel = client.channel(chat.channelType, chat.channelId);
  await channel.watch();
  channel.on('message.new', (event) => {
    renderMessages();
    // Read only while the page is seen: a hidden tab keeps its messages unread, as the service counts them.
    if (event.user?.id !== me.userId && document.visibilityState === 'visible') {
      channel.markRead();
    }
  });
  document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && channel.markRead());
  setInterval(renderUnread, 3000);
  channel.on('channel.updated', renderStatus);
  // A query answered after a newer event (the SDK re-queries when a channel is frozen or unfrozen) sets the channel's data too.
  client.on('channels.queried', renderStatus);
  channel.on('typing.start', renderTyping);
  channel.on('typing.stop', renderTyping);

  $('setup').hidden = true;
  $('chat').hidden = false;
  $('chat-title').textContent = `${channel.data.name ?? chat.channelId} — you are ${me.name}`;
  $('end').hidden = me.key !== 'vet';
  renderMessages();
  renderStatus();
  renderUnread();
  say(`Connected as ${me.name}.`);
}

function renderStatus() {
  const status = channel.data.status ?? (channel.data.frozen ? 'pending' : 'active');
  const text = {
    pending: `not open yet: opens at ${time(chat.activatesAt)}`,
    active: 'open',
    ended: 'ended by the practice',
  }[status] ?? status;
  // The composer stays usable whatever the status: Stream itself refuses messages to a frozen chat.
  $('status').textContent = text;
  $('status').dataset.status = status;
}

// The chat list's unread count for this chat, as the service keeps it from Stream's webhooks.
async function renderUnread() {
  try {
    const list = await api('GET', '/api/chat/channels');
    const mine = list.channels.find((c) => c.id === chat.channelId);
    $('unread').textContent = String(mine?.unreadCount ?? 0);
  } catch {
    // A failed refresh leaves the last count shown; the next one tries again.
  }
}

function renderMessages() {
  const me = session.person.userId;
  $('messages').replaceChildren(...channel.state.messages.map((message) => {
    const item = document.createElement('li');
    item.dataset.id = message.id;
    item.className = message.type === 'system' ? 'system' : message.user?.id === me ? 'mine' : 'theirs';
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = message.user?.name ?? message.user?.id ?? '';
    item.append(author, message.text ?? '', ...(message.attachments ?? []).map(renderAttachment));
    return item;
  }));
}

// A photo as the apps show it (the upload's URL; Stream's CDN, here the emulator, serves it); any other file as a link.
function renderAttachment(attachment) {
  const url = attachment.image_url ?? attachment.thumb_url ?? attachment.asset_url;
  if (attachment.type === 'image' && url) {
    const image = document.createElement('img');
    image.src = url;
    image.alt = attachment.fallback ?? attachment.title ?? 'photo';
    return image;
  }
  const link = document.createElement('a');
  link.href = url ?? '#';
  link.textContent = attachment.title ?? attachment.fallback ?? 'attachment';
  return link;
}

function renderTyping() {
  const others = Object.values(channel.state.typing)
    .filter((event) => event.user?.id !== session.person.userId)
    .map((event) => event.user?.name ?? event.user?.id);
  $('typing').textContent = others.length ? `${others.join(', ')} is typing…` : '';
}

async function send(event) {
  event.preventDefault();
  const text = $('text').value.trim();
  const photo = $('photo').files[0];
  if (!text && !photo) {
    return;
  }
  try {
    // A photo is uploaded to the channel first (Stream refuses types the app's image_upload_config blocks), then
    // sent as the message's attachment, as Stream's file-uploads guide does it.
    const attachments = [];
    if (photo) {
      const uploaded = await channel.sendImage(photo, photo.name, photo.type);
      attachments.push({ type: 'image', image_url: uploaded.file, thumb_url: uploaded.thumb_url ?? uploaded.file, fallback: photo.name });
    }
    const sent = await channel.sendMessage({ text, attachments });
    // Stream answers a message to a frozen channel (the chat is not open yet, or has ended) with a message of type
    // "error" rather than an HTTP error: nothing was sent.
    if (sent.message?.type === 'error') {
      fail(`Not sent: the chat is ${$('status').textContent}.`);
      return;
    }
    $('text').value = '';
    $('photo').value = '';
    await channel.stopTyping();
    say('Sent.');
  } catch (error) {
    fail(`Not sent: ${error.message}`);
  }
}

async function endChat() {
  await api('POST', `/api/chat/channels/${encodeURIComponent(chat.channelId)}/end`, {});
  say('You ended the chat.');
}

const run = (action) => () => action().catch((error) => fail(error.message));

people = await api('GET', '/demo/people', undefined, null);
$('person').replaceChildren(...people.filter((p) => p.key !== 'practice').map((p) => {
  const option = document.createElement('option');
  option.value = p.key;
  option.textContent = `${p.name} (${p.role}, ${p.userId})`;
  return option;
}));
$('book').addEventListener('click', run(book));
$('open').addEventListener('click', run(openChat));
$('end').addEventListener('click', run(endChat));
$('composer').addEventListener('submit', (event) => send(event).catch((error) => fail(error.message)));
$('text').addEventListener('input', () => channel?.keystroke().catch(() => {}));
say('Ready. Book the appointment once, then open the chat in each window.');
