import type { AccessLists } from './port';

/**
 * How both adapters store {@link AccessLists}: one JSON text, or nothing at all when no list is
 * left, so "every route and model" has a single spelling (the field is absent) and an empty list
 * is never mistaken for "nothing allowed".
 */
export function serializeAccess(access: AccessLists | null | undefined): string | undefined {
  const lists = normalAccess(access);
  return lists && JSON.stringify(lists);
}

/** Empty lists dropped; undefined once none is left. */
export function normalAccess(access: AccessLists | null | undefined): AccessLists | undefined {
  const routes = access?.routes ?? [];
  const models = access?.models ?? [];
  if (routes.length === 0 && models.length === 0) return undefined;
  return { ...(routes.length > 0 && { routes: [...routes] }), ...(models.length > 0 && { models: [...models] }) };
}

/**
 * Reads what {@link serializeAccess} wrote. A field that is not lists of strings throws rather
 * than being read as "no list": dropping a list the store holds would allow what it forbids.
 */
export function parseAccess(text: string, owner: string): AccessLists | undefined {
  const value: unknown = JSON.parse(text);
  const list = (field: 'routes' | 'models'): string[] => {
    const items = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    if (items === undefined) return [];
    if (Array.isArray(items) && items.every((item) => typeof item === 'string')) return items as string[];
    throw new Error(`${owner}: its stored access lists are not lists of strings (${field})`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${owner}: its stored access lists are not an object`);
  return normalAccess({ routes: list('routes'), models: list('models') });
}
