import { Compartment, EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import { yCollab } from 'y-codemirror.next';
import * as Y from 'yjs';

import type { DocumentStatus, SharedDocument } from '@collab/sdk';

import type { Session } from '../session.js';

/** Options of {@link openEditor}. */
export interface EditorOptions {
    workspaceId: number;
    /** The file's path: the editor's accessible name. */
    path: string;
    readOnly: boolean;
    /** Ctrl/Cmd-Enter. */
    onRun?: () => void;
    /** The document's connection: synced, disconnected, an edit denied, or ended for good. */
    onStatus: (status: DocumentStatus) => void;
}

/** A file's editor, live: its text through {@link LiveEditor.text}. */
export interface LiveEditor {
    view: EditorView;
    /** The file's text as it is now. */
    text(): string;
    close(): void;
}

/** Opens a file's shared document (`client.docs.open`) and an editor on it, showing this user's cursor to the others. */
export function openEditor(parent: HTMLElement, session: Session, options: EditorOptions): LiveEditor {
    const shared = session.client.docs.open(options.workspaceId, options.path, { onStatus: options.onStatus });
    const user = session.user!;
    shared.awareness.setLocalStateField('user', { name: user.name || user.email, color: colorOf(user.id) });
    const view = createEditor(parent, shared, options);
    return {
        view,
        text: () => shared.text.toJSON(),
        close: () => {
            view.destroy();
            shared.close();
        }
    };
}

/** The nonce of this page's Content-Security-Policy, for the editor's style elements (set by the server). */
const STYLE_NONCE = document.querySelector<HTMLMetaElement>('meta[property="csp-nonce"]')?.nonce ?? '';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#e377c2', '#8c564b', '#17becf', '#bcbd22'];

/** A colour of one's own for a user's cursor, the same in every browser. */
function colorOf(userId: number): string {
    return COLORS[userId % COLORS.length]!;
}

/** Syntax highlighting for a path, by its extension (each language's parser is loaded when first needed). */
async function languageOf(path: string): Promise<Extension> {
    if (/\.py$/i.test(path)) {
        return (await import('@codemirror/lang-python')).python();
    }

    if (/\.[cm]?[jt]sx?$/i.test(path)) {
        return (await import('@codemirror/lang-javascript')).javascript({ typescript: /\.[cm]?tsx?$/i.test(path), jsx: /x$/i.test(path) });
    }

    return [];
}

/** CodeMirror 6 bound to a shared document: each keystroke merged, others' cursors shown with their names. */
function createEditor(parent: HTMLElement, shared: SharedDocument, options: EditorOptions): EditorView {
    const undoManager = new Y.UndoManager(shared.text);
    const language = new Compartment();
    const view = new EditorView({
        parent,
        state: EditorState.create({
            doc: shared.text.toJSON(),
            extensions: [
                EditorView.cspNonce.of(STYLE_NONCE),
                keymap.of([{ key: 'Mod-Enter', run: () => (options.onRun?.(), true) }]),
                basicSetup,
                language.of([]),
                yCollab(shared.text, shared.awareness, { undoManager }),
                EditorState.readOnly.of(options.readOnly),
                EditorView.editable.of(!options.readOnly),
                EditorView.contentAttributes.of({ 'aria-label': options.path, 'aria-readonly': String(options.readOnly) })
            ]
        })
    });
    void languageOf(options.path).then((extension) => view.dispatch({ effects: language.reconfigure(extension) })).catch(() => undefined);
    return view;
}
