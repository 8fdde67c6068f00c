// Public entry of `copilotedge/testing`: the Workers AI emulator. Re-exports only.
export {}
