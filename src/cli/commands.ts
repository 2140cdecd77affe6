import type { CommandRegistrar } from './context.js';
import { registerApplyCommand } from './apply.js';
import { registerConfigCommand } from './config.js';
import { registerEventsCommand } from './events.js';
import { registerInitCommand } from './init.js';
import { registerPauseResumeCommands } from './pause-resume.js';
import { registerPruneCommand } from './prune.js';
import { registerReconcileCommand } from './reconcile.js';
import { registerStartCommand } from './start.js';
import { registerStatusCommand } from './status.js';
import { registerPushCommand } from './push.js';
import { registerRegistryCommand } from './registry.js';
import { registerRollbackCommand } from './rollback.js';
import { registerUiCommand } from './ui.js';
import { registerVersionsCommand } from './versions.js';

/** Every command of `ksail-fluxd`, one file each. */
export const commands: readonly CommandRegistrar[] = [
  registerStartCommand,
  registerPushCommand,
  registerVersionsCommand,
  registerRegistryCommand,
  registerPruneCommand,
  registerApplyCommand,
  registerReconcileCommand,
  registerRollbackCommand,
  registerStatusCommand,
  registerEventsCommand,
  registerPauseResumeCommands,
  registerConfigCommand,
  registerInitCommand,
  registerUiCommand,
];
