import type { Knex } from 'knex';
import { Model, type ModelObject, type QueryBuilder } from 'objection';
import type { Role } from '@collab/protocol';

const CREATE_OWNED = `
    with project as (
        insert into projects (name, description, owner_id) values (?, ?, ?) returning *
    ), membership as (
        insert into memberships (project_id, user_id, role) select id, owner_id, 'owner' from project
    )
    select project.*, 'owner' as role from project`;

/** A project: the unit of membership. */
export class Project extends Model {
    static override tableName = 'projects';

    id!: number;
    name!: string;
    description!: string;
    owner_id!: number | null;
    created_at!: string;
    updated_at!: string;
    /** The caller's role, selected by `withRoleOf`. */
    role?: Role;

    static override modifiers = {
        /** Only projects the user is a member of, each with the user's `role`. */
        withRoleOf(query: QueryBuilder<Project>, userId: number) {
            query.select('projects.*', 'memberships.role')
                .join('memberships', 'memberships.project_id', 'projects.id')
                .where('memberships.user_id', userId);
        }
    };

    /**
     * Creates a project with its creator as owner. One statement inserts both
     * rows: atomic without a transaction, and a single round trip.
     */
    static async createOwned(db: Knex, fields: { name: string; description: string }, ownerId: number): Promise<Project> {
        const { rows } = await db.raw(CREATE_OWNED, [fields.name, fields.description, ownerId]) as { rows: Record<string, unknown>[] };
        return Project.fromDatabaseJson(rows[0]!);
    }

    /** A project, with the caller's `role`, as the API shows it. */
    static toApi(project: ModelObject<Project>) {
        return {
            id: project.id,
            name: project.name,
            description: project.description,
            created_at: project.created_at,
            updated_at: project.updated_at,
            owner: project.owner_id,
            role: project.role
        };
    }
}
