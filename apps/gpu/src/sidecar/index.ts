export {
  SidecarProcess,
  type SidecarProcessOptions,
  type SidecarProcessEvents,
  type SidecarState,
  type SidecarRestartEvent,
  type SidecarExitEvent,
} from './sidecar-process.js';
export { SidecarRetryableError, SidecarUnavailableError, SidecarRequestError } from './errors.js';
export {
  loadPolicy,
  parsePolicy,
  policyDocumentSchema,
  PolicyFileError,
  DEMO_POLICY_FILE,
  DEMO_POLICY_V2_FILE,
  type LoadedPolicy,
  type PolicyDocument,
} from './policy.js';
export {
  SIDECAR_DIR,
  SIDECAR_VENV_PYTHON,
  defaultSidecarPython,
  SIDECAR_BACKENDS,
  sidecarEnvSchema,
  readSidecarEnv,
  type SidecarBackend,
  type SidecarEnv,
} from './sidecar-config.js';
export {
  sidecarMessageSchema,
  readyMessageSchema,
  resultItemSchema,
  type ReadyInfo,
  type SidecarItem,
  type SidecarTextItem,
  type ClassifiedItem,
  type PolicyRef,
  type SidecarResultItem,
  type SidecarResultItemOk,
  type SidecarResultItemFailed,
  type Transcript,
  type Segment,
  type Classification,
  type SidecarMessage,
  type SidecarRequest,
} from './protocol.js';
