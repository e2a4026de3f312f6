// Mobile App - in streamChatService.ts
export const connectStreamUser = async (
  userId: string,
  userName: string,
  userImage?: string,
) => {
  const client = getChatClient();

  if (client.userID === userId) {
    return client;
  }

  try {
    // Get token from backend
    const response = await fetch('/api/chat/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    const { token } = await response.json();

    await client.connectUser(
      {
        id: userId,
        name: userName,
        image: userImage,
      },
      token  // Use backend-generated token
    );

    return client;
  } catch (error) {
    console.error('[Stream] Failed to connect user:', error);
    throw error;
  }
};

// Mobile App - in streamChatService.ts
export const getAppointmentChannel = async (
  appointmentId: string,
  vetId: string,
  appointmentData?: any,
) => {
  const client = getChatClient();

  if (!client.userID) {
    throw new Error('User must be connected before accessing channels');
  }

  try {
    // Request channel from backend
    const response = await fetch('/api/chat/channels', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        appointmentId,
        petOwnerId: client.userID,
        vetId,
        appointmentTime: appointmentData?.dateTime,
        activationMinutes: 5,
      }),
    });

    const { channelId } = await response.json();

    // Get channel reference
    const channel = client.channel('messaging', channelId);
    await channel.watch();

    return channel;
  } catch (error) {
    console.error('[Stream] Failed to get channel:', error);
    throw error;
  }
};
