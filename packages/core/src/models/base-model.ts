import { Model } from 'objection';

/** Shared behaviour of collab models: timestamps leave the database as ISO 8601 strings. */
export class BaseModel extends Model {
    override $parseDatabaseJson(json: Record<string, unknown>) {
        const parsed = super.$parseDatabaseJson(json);
        for (const [key, value] of Object.entries(parsed)) {
            if (value instanceof Date) {
                parsed[key] = value.toISOString();
            }
        }

        return parsed;
    }
}
