// video: transcode a local file to mp4 at a height, with a thumbnail.
import { z } from 'zod';

export const videoSchema = z.object({
  /** A video file under the input roots (JOBVISOR_INPUT_ROOTS; a relative path is looked up in each). */
  source: z.string().min(1).refine((s) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(s), 'a file under the input roots, not a URL'),
  /** Output height in pixels; the width follows the aspect ratio (rounded to even). */
  height: z.number().int().min(16).max(4320).default(480),
  /** Where in the video the thumbnail is taken, in seconds; default a tenth of the way in. */
  thumbnailAtSec: z.number().min(0).optional(),
  /** x264 preset: faster presets use less CPU and make bigger files. */
  preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']).default('veryfast'),
});
export type VideoJob = z.infer<typeof videoSchema>;
