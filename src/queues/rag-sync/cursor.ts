// What "new since the last sync" means, per source: items published after the
// cursor, plus items at the cursor's instant or undated that were not seen yet.
import type { SourceItem } from './sources.js';

export interface Cursor {
  /** The latest publication time synced (epoch ms). */
  at: number;
  /** Ids synced at exactly `at`: several items can share one instant. */
  atIds: string[];
  /** Ids of undated items already synced: time cannot tell them apart. */
  undatedIds: string[];
}

const MAX_REMEMBERED_IDS = 5000;

export function newItems(items: SourceItem[], cursor: Cursor | undefined): SourceItem[] {
  if (!cursor) return items;
  const atIds = new Set(cursor.atIds);
  const undated = new Set(cursor.undatedIds);
  return items.filter((item) => item.publishedAt === null
    ? !undated.has(item.id)
    : item.publishedAt > cursor.at || (item.publishedAt === cursor.at && !atIds.has(item.id)));
}

export function advance(cursor: Cursor | undefined, synced: SourceItem[]): Cursor {
  const at = Math.max(cursor?.at ?? 0, ...synced.map((i) => i.publishedAt ?? 0));
  const atIds = new Set(at === cursor?.at ? cursor.atIds : []);
  const undatedIds = new Set(cursor?.undatedIds ?? []);
  for (const item of synced) {
    if (item.publishedAt === null) undatedIds.add(item.id);
    else if (item.publishedAt === at) atIds.add(item.id);
  }
  return { at, atIds: [...atIds], undatedIds: [...undatedIds].slice(-MAX_REMEMBERED_IDS) };
}
