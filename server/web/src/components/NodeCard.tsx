// One node on the canvas, drawn from its catalogue schema: sockets coloured by type, widgets for constants,
// its live run state, progress, preview and errors.
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo } from "react";
import { useShallow } from "zustand/react/shallow";
import type { InputSchema, JsonValue } from "../api/types";
import { isSeedInput, kindOf, takesConstant } from "../graph/catalogue";
import type { GraphNode } from "../graph/convert";
import { typeColor } from "../graph/typeColors";
import { useEditor } from "../store/editor";
import { useRuns } from "../store/runs";
import { BooleanWidget, ChoiceWidget } from "../widgets/ChoiceWidget";
import { ImageWidget } from "../widgets/ImageWidget";
import { NumberWidget } from "../widgets/NumberWidget";
import { SeedWidget } from "../widgets/SeedWidget";
import { TextWidget } from "../widgets/TextWidget";

const STATE_LABEL: Record<string, string> = {
  queued: "queued",
  running: "running",
  cached: "cached",
  done: "done",
  failed: "failed",
  skipped: "skipped",
  interrupted: "stopped",
};

function Widget({ nodeId, input, value: given }: { nodeId: string; input: InputSchema; value: JsonValue | undefined }) {
  // An input the document leaves out runs with the node's default (documents from other tools often do).
  const value = given === undefined ? input.default : given;
  const index = useEditor((s) => s.index)!;
  const setValue = useEditor((s) => s.setValue);
  const mode = useEditor((s) => s.seedModes[`${nodeId}.${input.name}`] ?? "fixed");
  const setSeedMode = useEditor((s) => s.setSeedMode);
  const commit = (next: JsonValue) => setValue(nodeId, input.name, next);
  const kind = kindOf(index, input);
  if (input.file === "image") return <ImageWidget input={input} value={String(value ?? "")} onCommit={commit} />;
  if (isSeedInput(index, input)) {
    return (
      <SeedWidget
        input={input}
        value={Number(value ?? 0)}
        mode={mode}
        onCommit={commit}
        onMode={(next) => setSeedMode(nodeId, input.name, next)}
      />
    );
  }
  switch (kind) {
    case "enum":
      return <ChoiceWidget input={input} value={String(value ?? "")} onCommit={commit} />;
    case "boolean":
      return <BooleanWidget input={input} value={Boolean(value)} onCommit={commit} />;
    case "int":
    case "float":
      return <NumberWidget input={input} value={Number(value ?? 0)} integer={kind === "int"} onCommit={commit} />;
    default:
      return <TextWidget input={input} value={value === null || value === undefined ? "" : String(value)} onCommit={commit} />;
  }
}

function MissingNode({ id, nodeType }: { id: string; nodeType: string }) {
  return (
    <div className="graph-node missing" data-node-id={id}>
      <header>
        <span className="title">{nodeType}</span>
        <span className="node-id">{id}</span>
      </header>
      <div className="node-message error">Unknown node type '{nodeType}': no installed node pack provides it. Its inputs are kept.</div>
    </div>
  );
}

function NodeCardView({ id, data, selected }: NodeProps<GraphNode>) {
  const index = useEditor((s) => s.index);
  const linked = useEditor(useShallow((s) => s.edges.filter((e) => e.target === id).map((e) => e.targetHandle)));
  const status = useRuns((s) => s.nodeStates[id]);
  const issues = useRuns(useShallow((s) => s.issues.filter((issue) => issue.node_id === id)));
  const schema = index?.nodes.get(data.nodeType);
  if (!index || !schema) return <MissingNode id={id} nodeType={data.nodeType} />;

  const socketOnly = schema.inputs.filter((input) => !takesConstant(index, input));
  const withWidget = schema.inputs.filter((input) => takesConstant(index, input));
  const nodeIssues = issues.filter((issue) => !issue.input);
  const inputIssue = (name: string) => issues.filter((issue) => issue.input === name);
  const issueLines = (name: string) =>
    inputIssue(name).map((issue, n) => (
      <div key={n} className="input-issue">
        {issue.message}
      </div>
    ));
  const stateClass = status ? ` state-${status.state}` : "";
  const invalid = issues.length ? " invalid" : "";

  const socket = (input: InputSchema) => (
    <Handle
      type="target"
      position={Position.Left}
      id={input.name}
      className="socket"
      style={{ background: typeColor(input.type), borderColor: input.required ? "#111" : typeColor(input.type) }}
      title={`${input.name}: ${input.type}${input.required ? "" : " (optional)"}`}
    />
  );

  return (
    <div className={`graph-node${stateClass}${invalid}${selected ? " selected" : ""}`} data-node-id={id} data-node-type={data.nodeType}>
      <header title={schema.description}>
        <span className="title">{schema.display_name}</span>
        <span className="node-id">#{id}</span>
        {status && (
          <span className={`badge badge-${status.state}`} data-testid="node-state">
            {STATE_LABEL[status.state]}
          </span>
        )}
      </header>
      {status?.progress && (
        <div className="progress" title={`step ${status.progress.value} of ${status.progress.total}`}>
          <div style={{ width: `${(100 * status.progress.value) / Math.max(1, status.progress.total)}%` }} />
          <span>
            {status.progress.value}/{status.progress.total}
          </span>
        </div>
      )}
      <div className="slots">
        <div className="slot-column">
          {socketOnly.map((input) => (
            <div key={input.name} className={`slot in${inputIssue(input.name).length ? " invalid" : ""}`} data-input={input.name}>
              {socket(input)}
              <span className="slot-name">{input.name}</span>
              <span className="slot-type" style={{ color: typeColor(input.type) }}>
                {input.type}
              </span>
              {issueLines(input.name)}
            </div>
          ))}
        </div>
        <div className="slot-column outputs">
          {schema.outputs.map((output) => (
            <div key={output.name} className="slot out" data-output={output.name} title={output.description}>
              <span className="slot-type" style={{ color: typeColor(output.type) }}>
                {output.type}
              </span>
              <span className="slot-name">{output.name}</span>
              <Handle type="source" position={Position.Right} id={output.name} className="socket" style={{ background: typeColor(output.type) }} />
            </div>
          ))}
        </div>
      </div>
      <div className="widgets">
        {withWidget.map((input) => (
          <div key={input.name} className={`widget-row${inputIssue(input.name).length ? " invalid" : ""}`} data-input={input.name}>
            {socket(input)}
            {linked.includes(input.name) ? (
              <div className="linked-input">
                {input.name} <em>← linked</em>
              </div>
            ) : (
              <Widget nodeId={id} input={input} value={data.values[input.name]} />
            )}
            {issueLines(input.name)}
          </div>
        ))}
      </div>
      {nodeIssues.map((issue, n) => (
        <div key={n} className="node-message error">
          {issue.message}
        </div>
      ))}
      {status?.state === "failed" && status.message && <div className="node-message error">{status.message}</div>}
      {status?.preview && <img className="node-preview" src={status.preview} alt={`preview of ${id}`} />}
    </div>
  );
}

export const NodeCard = memo(NodeCardView);
