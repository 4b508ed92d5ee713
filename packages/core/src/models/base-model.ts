import { Model } from 'objection';

/** Turns the timestamps of a database row into ISO 8601 strings, in place, as the API shows them. */
export function isoTimestamps<T extends object>(row: T): T {
    const fields = row as Record<string, unknown>;
    for (const key in fields) {
        const value = fields[key];
        if (value instanceof Date) {
            fields[key] = value.toISOString();
        }
    }

    return row;
}

/** Shared behaviour of collab models: timestamps leave the database as ISO 8601 strings. */
export class BaseModel extends Model {
    override $parseDatabaseJson(json: Record<string, unknown>) {
        return isoTimestamps(super.$parseDatabaseJson(json));
    }
}
