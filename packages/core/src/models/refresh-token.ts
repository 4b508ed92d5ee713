import { Model } from 'objection';

/** A refresh token: stored by hash, rotated on use, grouped in families for reuse detection. */
export class RefreshToken extends Model {
    static override tableName = 'refresh_tokens';

    id!: string;
    user_id!: number;
    family_id!: string;
    token_hash!: string;
    expires_at!: string;
    used_at!: string | null;
    revoked_at!: string | null;
    created_at!: string;
}
