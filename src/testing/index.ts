// Public entry of `copilotedge/testing`: the Workers AI emulator. Re-exports only.
export type {
  EmulatorClock,
  EmulatorFault,
  EmulatorListenOptions,
  EmulatorReplyInfo,
  EmulatorRoute,
  EmulatorServer,
  EmulatorStreamShape,
  RecordedRequest,
  WorkersAIEmulator,
  WorkersAIEmulatorOptions,
} from './emulator-types'
export {
  createWorkersAIEmulator,
  DEFAULT_EMULATOR_MODELS,
  EMULATOR_BASE_URL,
  isChatCompletionsModel,
} from './workers-ai-emulator'
