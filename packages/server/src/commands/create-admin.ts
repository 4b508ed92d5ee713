import { connect, migrateLatest, User, type Config } from '@collab/core';
import Joi from 'joi';

import { hashPassword } from '../auth/passwords.js';
import { readSecret } from './prompt.js';
import { email as emailSchema, password as passwordSchema } from '../schemas/users.js';

/** `collab-server create-admin --email E [--name N]`: creates an admin, or promotes an existing user. */
export async function createAdmin(config: Config, options: { email?: string; name?: string }): Promise<void> {
    const email = Joi.attempt(options.email, emailSchema.required().label('--email')) as string;
    const db = connect(config);
    try {
        await migrateLatest(db);
        const existing = await User.query(db).findOne({ email });
        if (existing) {
            await User.query(db).patch({ is_admin: true, is_active: true }).findById(existing.id);
            process.stdout.write(`Promoted ${email} (id ${existing.id}) to admin\n`);
            return;
        }

        const password = Joi.attempt(await readSecret('Password: '), passwordSchema.required().label('password')) as string;
        const user = await User.query(db).insert({ email, name: options.name ?? '', password_hash: await hashPassword(password), is_admin: true });
        process.stdout.write(`Created admin ${email} (id ${user.id})\n`);
    }
    finally {
        await db.destroy();
    }
}
