// Public entry of `copilotedge/testing`: the Workers AI emulator. Re-exports only.
export type {
  EmulatorBinding,
  EmulatorClock,
  EmulatorFault,
  EmulatorListenOptions,
  EmulatorPrefixCacheOptions,
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
