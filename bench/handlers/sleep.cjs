// Bench handler (plain CommonJS, so the built worker loads it without tsx): a slow
// job that waits `ms`, as one that calls out to a model or a transcoder would.
module.exports = {
  queue: 'bench',
  run(data, ctx) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), data.ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      }, { once: true });
    });
  },
};
