// The scale form's text fields and the UpdateDeployment values behind them:
// instances (1–10), CPU in cores (0.001–4, empty for the server's default)
// and memory in MiB (1–8192, empty for the default). The server checks the
// same bounds; checking here names the field before a round trip.

export const MAX_REPLICAS = 10;
export const MAX_CPU_CORES = 4;
export const MAX_MEMORY_MIB = 8192;
const MIB = 1024 * 1024;

/** ScaleText is what the form's three fields hold. */
export interface ScaleText {
  replicas: string;
  cpuCores: string;
  memoryMib: string;
}

/** ScaleValues is what UpdateDeployment takes (0 means the default). */
export interface ScaleValues {
  replicas: number;
  cpuMillicores: number;
  memoryBytes: bigint;
}

/** scaleText shows a deployment's values in the form. */
export function scaleText(replicas: number, cpuMillicores: number | undefined, memoryBytes: bigint | undefined): ScaleText {
  return {
    replicas: String(replicas || 1),
    cpuCores: cpuMillicores ? String(cpuMillicores / 1000) : "",
    memoryMib: memoryBytes ? String(Number(memoryBytes) / MIB) : "",
  };
}

/**
 * parseScale checks the form: either the values, or a message for each
 * field that is wrong (keyed replicas, cpuCores, memoryMib).
 */
export function parseScale(text: ScaleText): { values: ScaleValues } | { errors: Partial<Record<keyof ScaleText, string>> } {
  const errors: Partial<Record<keyof ScaleText, string>> = {};
  const replicas = Number(text.replicas.trim());
  if (!/^\d+$/.test(text.replicas.trim()) || replicas < 1 || replicas > MAX_REPLICAS) {
    errors.replicas = `Enter a whole number of instances from 1 to ${MAX_REPLICAS}.`;
  }
  let cpuMillicores = 0;
  const cpu = text.cpuCores.trim();
  if (cpu !== "") {
    const cores = Number(cpu);
    cpuMillicores = Math.round(cores * 1000);
    if (!/^\d*\.?\d+$/.test(cpu) || cpuMillicores < 1 || cores > MAX_CPU_CORES) {
      errors.cpuCores = `Enter cores from 0.001 to ${MAX_CPU_CORES} (0.5 is half a core), or leave it empty for the default.`;
    }
  }
  let memoryBytes = 0n;
  const memory = text.memoryMib.trim();
  if (memory !== "") {
    const mib = Number(memory);
    if (!/^\d+$/.test(memory) || mib < 1 || mib > MAX_MEMORY_MIB) {
      errors.memoryMib = `Enter whole MiB from 1 to ${MAX_MEMORY_MIB}, or leave it empty for the default.`;
    } else {
      memoryBytes = BigInt(mib) * BigInt(MIB);
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  return { values: { replicas, cpuMillicores, memoryBytes } };
}
