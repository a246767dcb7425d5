// The workflow's params: public knobs (name -> node inputs) for headless runs (`--set name=value`) and reuse as a node.
import { useState } from "react";
import type { ParamSpec } from "../api/types";
import { takesConstant } from "../graph/catalogue";
import { useEditor } from "../store/editor";

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function ParamsPanel() {
  const index = useEditor((s) => s.index);
  const params = useEditor((s) => s.meta.params);
  const nodes = useEditor((s) => s.nodes);
  const description = useEditor((s) => s.meta.description);
  const [name, setName] = useState("");
  const [target, setTarget] = useState("");
  if (!index) return null;

  const targets = nodes.flatMap((node) =>
    (index.nodes.get(node.data.nodeType)?.inputs ?? []).filter((input) => takesConstant(index, input)).map((input) => `${node.id}.${input.name}`),
  );
  const update = (next: Record<string, ParamSpec>) => useEditor.getState().setParams(next);
  const nameProblem = !name
    ? null
    : !PARAM_NAME.test(name)
      ? "a param name has letters, digits, _ and -, and does not start with a digit or -"
      : params[name]
        ? `'${name}' is already a param`
        : null;
  const owner = Object.entries(params).find(([, spec]) => spec.targets.includes(target))?.[0];
  const targetProblem = owner ? `${target} is already set by param '${owner}'` : null;
  const problem = nameProblem ?? targetProblem;

  return (
    <div className="params-panel">
      <label className="description">
        <span>Workflow description</span>
        <textarea
          rows={2}
          defaultValue={description}
          key={description}
          onBlur={(e) => e.target.value !== description && useEditor.getState().setMeta({ description: e.target.value })}
        />
      </label>
      <p className="hint">
        Params are the workflow's public knobs: <code>graph-engine run wf.json --set name=value</code>, the API's <code>params</code>, and the
        inputs of this workflow when it is used as a node.
      </p>
      <table>
        <thead>
          <tr>
            <th>name</th>
            <th>sets</th>
            <th>description</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {Object.entries(params).map(([param, spec]) => (
            <tr key={param} data-param={param}>
              <td>{param}</td>
              <td>{spec.targets.join(", ")}</td>
              <td>
                <input
                  defaultValue={spec.description ?? ""}
                  aria-label={`description of ${param}`}
                  onBlur={(e) => e.target.value !== (spec.description ?? "") && update({ ...params, [param]: { ...spec, description: e.target.value } })}
                />
              </td>
              <td>
                <button
                  aria-label={`remove ${param}`}
                  onClick={() => {
                    const { [param]: _removed, ...rest } = params;
                    void _removed;
                    update(rest);
                  }}
                >
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="add-param"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name || problem || !target) return;
          update({ ...params, [name]: { targets: [target], description: "" } });
          setName("");
        }}
      >
        <input placeholder="param name" value={name} onChange={(e) => setName(e.target.value)} aria-label="new param name" />
        <select value={target} onChange={(e) => setTarget(e.target.value)} aria-label="input the param sets">
          <option value="">node input…</option>
          {targets.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
        <button type="submit" disabled={!name || !!problem || !target}>
          expose
        </button>
        {problem && <span className="problem">{problem}</span>}
      </form>
    </div>
  );
}
