// The `local` provider: feature hashing (the "hashing trick") of word unigrams
// and bigrams into a fixed number of signed slots, L2-normalised. Deterministic,
// no network, no model: it is LEXICAL, not semantic — texts that share words
// land near each other, synonyms do not. Good for tests, dedup and a baseline.
import type { EmbeddingProvider } from './provider.js';

/** FNV-1a, 32 bits: fast, stable across runs and platforms. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function tokens(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

export function hashEmbed(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  const words = tokens(text);
  const features = [...words, ...words.slice(1).map((word, i) => `${words[i]} ${word}`)];
  for (const feature of features) {
    const hash = fnv1a(feature);
    const sign = fnv1a(feature, 0x9747b28c) & 1 ? 1 : -1; // a second hash picks the sign, so collisions cancel out on average
    vector[hash % dimensions]! += sign;
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => Number((value / norm).toFixed(6)));
}

export function localProvider(dimensions: number): EmbeddingProvider {
  return {
    name: 'local',
    model: `feature-hashing-${dimensions}`,
    embed: async (texts) => texts.map((text) => hashEmbed(text, dimensions)),
  };
}
