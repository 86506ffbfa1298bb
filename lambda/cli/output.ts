import type { Writer } from './io';

/** One JSON document per command, so `| jq` works on every `--json` output. */
export function printJson(out: Writer, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export interface Column {
  readonly header: string;
  /** Numbers read better right-aligned, so their digits line up. */
  readonly align?: 'left' | 'right';
}

export function printTable(out: Writer, columns: readonly Column[], rows: readonly (readonly string[])[]): void {
  const widths = columns.map((column, index) => Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        const width = widths[index] ?? 0;
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  out.write(`${line(columns.map((column) => column.header))}\n`);
  for (const row of rows) out.write(`${line(row)}\n`);
}

/** Minutes are enough to tell keys apart in a listing; the full instant is in `--json`. */
export function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}

export function orDash(value: string | undefined): string {
  return value === undefined || value === '' ? '-' : value;
}

/** A title, then one `name  value` line per field, the values aligned: what a `show` command prints. */
export function printFields(out: Writer, title: string, fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  out.write(`${title}\n`);
  for (const [name, value] of fields) out.write(`  ${name.padEnd(width)}  ${value}\n`);
}
