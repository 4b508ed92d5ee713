/** A column of a table: its header and how to show a row's cell. */
export interface Column<T> {
    header: string;
    value: (row: T) => unknown;
}

/** What a command returns: its data (printed as JSON with `--json`) and how to show it to people. */
export type Output =
    | { kind: 'table'; data: readonly unknown[]; headers: string[]; rows: string[][]; empty: string }
    | { kind: 'record'; data: unknown; fields: Array<[string, string]> }
    | { kind: 'text'; data: unknown; text: string }
    | { kind: 'message'; data: unknown; message: string }
    | { kind: 'none' };

const cell = (value: unknown): string => (value === null || value === undefined || value === '' ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value as string | number | boolean | bigint));

/** A table of rows; `empty` is printed instead when there are none. */
export function table<T>(data: readonly T[], columns: Array<Column<T>>, empty: string): Output {
    return { kind: 'table', data, headers: columns.map((c) => c.header), rows: data.map((row) => columns.map((c) => cell(c.value(row)))), empty };
}

/** One object as `label: value` lines, in the order given. */
export function record<T>(data: T, fields: Array<[string, (value: T) => unknown]>): Output {
    return { kind: 'record', data, fields: fields.map(([label, get]) => [label, cell(get(data))]) };
}

/** A confirmation sentence for people; `data` for `--json`. */
export function message(data: unknown, text: string): Output {
    return { kind: 'message', data, message: text };
}

/** Nothing to print: the command wrote its output as it went (a stream). */
export function nothing(): Output {
    return { kind: 'none' };
}

/** Raw text, written as is (a file's content); `data` for `--json`. */
export function text(data: unknown, content: string): Output {
    return { kind: 'text', data, text: content };
}

function renderTable(headers: string[], rows: string[][]): string {
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

function renderRecord(fields: Array<[string, string]>): string {
    const width = Math.max(...fields.map(([label]) => label.length)) + 1;
    return fields.map(([label, value]) => {
        if (!value.includes('\n')) {
            return `${`${label}:`.padEnd(width)} ${value}`;
        }

        return `${label}:\n${value.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n')}`;
    }).join('\n') + '\n';
}

/** Prints a command's output on stdout: for people, or as one JSON document. */
export function print(output: Output, json: boolean, stdout: NodeJS.WritableStream = process.stdout): void {
    if (output.kind === 'none') {
        return;
    }

    if (json) {
        stdout.write(`${JSON.stringify(output.data ?? null, null, 2)}\n`);
        return;
    }

    switch (output.kind) {
        case 'table':
            stdout.write(output.rows.length ? renderTable(output.headers, output.rows) : `${output.empty}\n`);
            break;
        case 'record':
            stdout.write(renderRecord(output.fields));
            break;
        case 'text':
            stdout.write(output.text);
            break;
        case 'message':
            stdout.write(`${output.message}\n`);
            break;
    }
}
