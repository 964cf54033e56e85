// Bench handler (plain CommonJS, so the built worker loads it without tsx): a
// no-op (or a wait of `ms`) that keeps 64 KiB per job for the life of its process, as leaky code does.
const retained = [];

module.exports = {
  queue: 'bench',
  async run(data) {
    retained.push(Buffer.alloc(64 * 1024, 1));
    if (data.ms) await new Promise((resolve) => setTimeout(resolve, data.ms));
    return null;
  },
};
