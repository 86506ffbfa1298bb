import { en } from 'zod/locales';
import { config } from 'zod/mini';

/**
 * zod for everything tollgate validates: the small build (`zod/mini`, functions instead of
 * methods), which adds ~25 KB to the Lambda bundle where classic zod adds ~450 KB. Unlike classic
 * zod it loads no messages of its own; these are the same English ones classic zod uses, so every
 * message a config error quotes reads as before. Import it as a namespace, so that bundles keep
 * only the functions used.
 *
 * @example
 * import * as z from '../config/zod';
 * const port = z.number().check(z.int(), z.positive());
 */
config(en());

export * from 'zod/mini';
