"""A discord.py bot, unmodified, pointed at a Hearth server.

discord.py has no setting for its REST base URL or its gateway: the two
module attributes below are the documented way to point it elsewhere
(docs/bots.md). The bot logs in, says hello in the channel it is given,
answers "ping" with "pong" (replying to the message, with the ping's
file sent back), checks what it sees
of the guild, and exits 0; any failure exits non-zero with the reason.

Environment: HEARTH_URL (http://host:port), HEARTH_BOT_TOKEN,
HEARTH_CHANNEL_ID, HEARTH_ROLE_ID (a role coloured #118899).
"""

import asyncio
import io
import os
import sys

import discord
import yarl
from discord.http import Route

BASE = os.environ["HEARTH_URL"].rstrip("/")
Route.BASE = f"{BASE}/api/v10"
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
    BASE.replace("http", "ws", 1) + "/gateway"
)

CHANNEL = int(os.environ["HEARTH_CHANNEL_ID"])
ROLE = int(os.environ["HEARTH_ROLE_ID"])

intents = discord.Intents.default()
client = discord.Client(intents=intents)
failure = []


def fail(why):
    failure.append(why)
    print(f"FAIL {why}", flush=True)
    asyncio.get_event_loop().create_task(client.close())


@client.event
async def on_ready():
    channel = client.get_channel(CHANNEL)
    if channel is None:
        return fail(f"channel {CHANNEL} not in the cache; guilds: {client.guilds}")
    role = channel.guild.get_role(ROLE)
    if role is None or str(role.color) != "#118899":
        return fail(f"role {ROLE}: {role!r} {role and role.color}")
    app = await client.application_info()
    if app.id != client.user.id:
        return fail(f"application {app.id} is not the bot {client.user.id}")
    await channel.send("hello from discord.py")
    print("READY", client.user.id, flush=True)


@client.event
async def on_message(message):
    if message.author.id == client.user.id or message.channel.id != CHANNEL:
        return
    # Without the MESSAGE_CONTENT intent the content of others' messages is
    # empty unless the bot is mentioned: the test mentions it.
    if "ping" in message.content:
        # The test's ping carries a file: read it through its link and
        # send its bytes back as a file of our own.
        if not message.attachments:
            return fail(f"no attachment on the ping: {message!r}")
        data = await message.attachments[0].read()
        await message.reply(
            "pong",
            file=discord.File(io.BytesIO(data), filename="echo.txt", description="what you sent"),
        )
        print("PONG", message.id, flush=True)
        # A thread from the ping, and a message in it.
        thread = await message.create_thread(name="ping thread")
        if thread.id != message.id or thread.parent_id != CHANNEL:
            return fail(f"thread {thread!r}")
        await thread.send("in the thread")
        print("THREAD", thread.id, flush=True)
        await client.close()


async def main():
    async with client:
        await asyncio.wait_for(client.start(os.environ["HEARTH_BOT_TOKEN"]), 60)


try:
    asyncio.run(main())
except asyncio.TimeoutError:
    failure.append("timed out")
if failure:
    print("FAIL", failure, flush=True)
    sys.exit(1)
print("DONE", flush=True)
