// Socket colours by type name, ComfyUI's palette for the familiar types; any other type gets a stable hue.
const FAMILIAR: Record<string, string> = {
  MODEL: "#b39ddb",
  UNCOND_MODEL: "#9575cd",
  CLIP: "#ffd500",
  VAE: "#ff6e6e",
  CONDITIONING: "#ffa931",
  LATENT: "#ff9cf9",
  IMAGE: "#64b5f6",
  MASK: "#81c784",
  INT: "#7fd6c2",
  FLOAT: "#aed581",
  STRING: "#b0bec5",
  BOOLEAN: "#f48fb1",
  ANY: "#e0e0e0",
};

export function typeColor(name: string): string {
  if (FAMILIAR[name]) return FAMILIAR[name];
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360}, 65%, 68%)`;
}
