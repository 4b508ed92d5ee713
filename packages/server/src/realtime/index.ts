export { realtimePlugin, type RealtimeApi, type RealtimePluginOptions } from './plugin.js';
export { realtimeSettings, type RealtimeSettings } from './settings.js';
export { sendEvent, checkEventName, type SendEventInput } from './send.js';
export { broadcastFileChange, broadcastFileDelete, type FileChange } from './broadcast.js';
export {
    announceMembershipChange,
    closeUserSockets,
    publishRealtimeControl,
    type CloseUserControl,
    type MembershipControl,
    type RealtimeControl
} from './control.js';
export { CloseCode, MAX_FRAME_BYTES, type Transport } from './connection.js';
export { WORKSPACE_PATHS, nesConnection } from './nes.js';
export { socketCounts } from './census.js';
