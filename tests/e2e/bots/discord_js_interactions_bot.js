// A discord.js bot, unmodified, that works through interactions: it
// registers guild slash commands, answers them (a reply with a button and
// a user select menu,
// a deferred reply and a follow-up, an ephemeral reply, a modal), updates
// its message when the button is clicked, reacts to its own reply and
// notices a user's reaction. It prints each step and exits 0 once the
// modal's answer is sent; any failure exits non-zero with the reason.
//
// Environment: HEARTH_URL (http://host:port), HEARTH_BOT_TOKEN,
// HEARTH_GUILD_ID.

const {
  ActionRowBuilder, ButtonBuilder, ButtonStyle, Client, Events, GatewayIntentBits,
  MessageFlags, ModalBuilder, SlashCommandBuilder, TextInputBuilder, TextInputStyle,
  UserSelectMenuBuilder,
} = require('discord.js');

const base = process.env.HEARTH_URL.replace(/\/+$/, '');
const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.GuildMessageReactions,
  ],
  rest: { api: `${base}/api` },
});

function fail(why) {
  console.log(`FAIL ${why}`);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 90_000).unref();
client.on(Events.Error, (e) => fail(`client error: ${e}`));

const commands = [
  new SlashCommandBuilder()
    .setName('echo')
    .setDescription('Says it back')
    .addStringOption((o) => o.setName('text').setDescription('What to say').setRequired(true))
    .addUserOption((o) => o.setName('who').setDescription('Whom to greet')),
  new SlashCommandBuilder().setName('slow').setDescription('Thinks first'),
  new SlashCommandBuilder().setName('secret').setDescription('Only you see it'),
  new SlashCommandBuilder().setName('form').setDescription('Asks you something'),
];

client.once(Events.ClientReady, async () => {
  try {
    const guild = await client.guilds.fetch(process.env.HEARTH_GUILD_ID);
    const set = await guild.commands.set(commands.map((c) => c.toJSON()));
    console.log('COMMANDS', [...set.values()].map((c) => c.name).sort().join(','));
  } catch (e) {
    fail(`registering: ${e.stack || e}`);
  }
});

client.on(Events.InteractionCreate, async (interaction) => {
  try {
    if (interaction.isChatInputCommand()) {
      switch (interaction.commandName) {
        case 'echo': {
          const text = interaction.options.getString('text', true);
          const who = interaction.options.getUser('who');
          const row = new ActionRowBuilder().addComponents(
            new ButtonBuilder().setCustomId('again').setLabel('Again').setStyle(ButtonStyle.Primary),
          );
          const pick = new ActionRowBuilder().addComponents(
            new UserSelectMenuBuilder().setCustomId('pick').setPlaceholder('Pick someone'),
          );
          await interaction.reply({ content: `echo: ${text}${who ? ` to ${who.username}` : ''}`, components: [row, pick] });
          const reply = await interaction.fetchReply();
          await reply.react('👍');
          console.log('ECHOED', reply.id);
          break;
        }
        case 'slow':
          await interaction.deferReply();
          await interaction.editReply('thought about it');
          await interaction.followUp('and one more thing');
          console.log('SLOW');
          break;
        case 'secret':
          await interaction.reply({ content: 'between us', flags: MessageFlags.Ephemeral });
          console.log('SECRET', interaction.ephemeral);
          break;
        case 'form': {
          const modal = new ModalBuilder().setCustomId('fb').setTitle('Feedback');
          modal.addComponents(new ActionRowBuilder().addComponents(
            new TextInputBuilder().setCustomId('body').setLabel('Your thoughts').setStyle(TextInputStyle.Paragraph),
          ));
          await interaction.showModal(modal);
          console.log('MODAL');
          break;
        }
        default:
          fail(`unknown command ${interaction.commandName}`);
      }
    } else if (interaction.isUserSelectMenu()) {
      const picked = interaction.users.map((u) => u.username).join(', ');
      await interaction.update({ content: `picked ${picked}` });
      console.log('PICKED', picked);
    } else if (interaction.isButton()) {
      await interaction.update({ content: `clicked ${interaction.customId}`, components: [] });
      console.log('CLICKED');
    } else if (interaction.isModalSubmit()) {
      const body = interaction.fields.getTextInputValue('body');
      await interaction.reply(`thanks: ${body}`);
      console.log('SUBMITTED');
      await client.destroy();
      console.log('DONE');
      process.exit(0);
    }
  } catch (e) {
    fail(`interaction: ${e.stack || e}`);
  }
});

client.on(Events.MessageReactionAdd, async (reaction, user) => {
  if (user.id === client.user.id) return;
  try {
    await reaction.message.channel.send(`saw ${reaction.emoji.name} from ${user.id}`);
    console.log('REACTION', reaction.emoji.name);
  } catch (e) {
    fail(`reaction: ${e.stack || e}`);
  }
});

client.login(process.env.HEARTH_BOT_TOKEN).catch((e) => fail(`login: ${e.stack || e}`));
