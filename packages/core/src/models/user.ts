import { Model } from 'objection';

/** A person who signs in. Emails are stored lower-cased. */
export class User extends Model {
    static override tableName = 'users';

    id!: number;
    email!: string;
    name!: string;
    password_hash!: string;
    is_admin!: boolean;
    is_active!: boolean;
    created_at!: string;
    last_login_at!: string | null;

    /** The fields any member may see of another user. */
    static readonly publicColumns = ['users.id', 'users.email', 'users.name'] as const;

    static override modifiers = {
        /** Active users only. */
        active(query: ReturnType<typeof User.query>) {
            query.where('users.is_active', true);
        }
    };

    /** The user as `/api/auth/me/` shows it. */
    toMe() {
        return { id: this.id, email: this.email, name: this.name, is_admin: this.is_admin, created_at: this.created_at };
    }
}
