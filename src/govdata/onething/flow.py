"""The order between a package's matters as a BPMN process run by SpiffWorkflow.

Each matter is a BPMN user task whose id is the matter's key; parallel gateways let independent matters run at
once and make a matter wait for the ones it needs. A package either ships its own BPMN file (drawn in any BPMN
modeller) or lists ``after:`` per matter, from which ``generate`` writes the equivalent process. A case keeps
its workflow's state serialised (JSON) and advances it when an officer closes a matter.
"""

from __future__ import annotations

from functools import lru_cache
from xml.sax.saxutils import quoteattr

from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SERIALIZER = BpmnWorkflowSerializer()


class FlowInvalid(ValueError):
    pass


def generate(process_id: str, name: str, matters: list[tuple[str, str, list[str]]]) -> str:
    """BPMN for matters given as (key, name, after): start → every matter once the ones it needs are done → end."""
    successors = {key: [k for k, _, after in matters if key in after] for key, _, _ in matters}
    nodes = ['<bpmn:startEvent id="start"/>', '<bpmn:parallelGateway id="split"/>',
             '<bpmn:parallelGateway id="finish"/>', '<bpmn:endEvent id="end"/>']
    flows = [("start", "split")]
    for key, label, after in matters:
        nodes.append(f"<bpmn:userTask id={quoteattr(key)} name={quoteattr(label)}/>")
        entry = f"join_{key}" if len(after) > 1 else key
        if entry != key:
            nodes.append(f'<bpmn:parallelGateway id="{entry}"/>')
            flows.append((entry, key))
        exit_ = f"fork_{key}" if len(successors[key]) > 1 else key
        if exit_ != key:
            nodes.append(f'<bpmn:parallelGateway id="{exit_}"/>')
            flows.append((key, exit_))
        flows += [(f"fork_{a}" if len(successors[a]) > 1 else a, entry) for a in after] or [("split", entry)]
        if not successors[key]:
            flows.append((key, "finish"))
    flows.append(("finish", "end"))
    body = "\n    ".join(nodes + [f'<bpmn:sequenceFlow id="flow{i}" sourceRef="{s}" targetRef="{t}"/>'
                                  for i, (s, t) in enumerate(flows, 1)])
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{NS}" id="defs_{process_id}" '
            f'targetNamespace="https://govdata.local/onething">\n  <bpmn:process id="{process_id}" '
            f'name={quoteattr(name)} isExecutable="true">\n    {body}\n  </bpmn:process>\n</bpmn:definitions>\n')


@lru_cache(maxsize=64)
def _spec(bpmn: str, process_id: str):
    parser = BpmnParser()
    try:
        parser.add_bpmn_str(bpmn.encode("utf-8"))
        return parser.get_spec(process_id)
    except ValidationException as exc:
        raise FlowInvalid(str(exc).splitlines()[0]) from exc
    except Exception as exc:
        raise FlowInvalid(f"无法解析 BPMN:{exc}") from exc


def check(bpmn: str, process_id: str, matter_keys: list[str]) -> dict[str, list[str]]:
    """The matters each matter needs (nearest preceding user tasks); the process's user tasks must be exactly the
    package's matters, and a trial run completing every task in turn must reach the end."""
    spec = _spec(bpmn, process_id)
    tasks = {name for name, ts in spec.task_specs.items() if isinstance(ts, UserTask)}
    if tasks != set(matter_keys):
        missing, extra = sorted(set(matter_keys) - tasks), sorted(tasks - set(matter_keys))
        raise FlowInvalid(f"BPMN 的用户任务须与事项一一对应(process id 须为 {process_id}):"
                          f"缺少 {missing or '无'},多出 {extra or '无'}")
    needs = {key: sorted(_preceding(spec.task_specs[key], tasks)) for key in matter_keys}
    workflow = start(bpmn, process_id)[0]
    for _ in range(len(matter_keys) + 1):
        ready = ready_matters(workflow)
        if not ready:
            break
        for key in ready:
            complete(workflow, key, {})
    if not workflow.is_completed():
        raise FlowInvalid("按 BPMN 依次办结全部事项后流程未能结束(请检查网关和连线)")
    return needs


def _preceding(task_spec, tasks: set[str]) -> set[str]:
    found: set[str] = set()
    seen: set[str] = set()
    stack = list(task_spec.inputs)
    while stack:
        spec = stack.pop()
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if spec.name in tasks:
            found.add(spec.name)
        else:
            stack.extend(spec.inputs)
    return found


def start(bpmn: str, process_id: str) -> tuple[BpmnWorkflow, list[str]]:
    workflow = BpmnWorkflow(_spec(bpmn, process_id))
    workflow.do_engine_steps()
    return workflow, ready_matters(workflow)


def ready_matters(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def complete(workflow: BpmnWorkflow, matter: str, data: dict) -> list[str]:
    """Close a matter's task with ``data``; returns the matters that became ready."""
    before = set(ready_matters(workflow))
    task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == matter)
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()
    return [m for m in ready_matters(workflow) if m not in before]


def dumps(workflow: BpmnWorkflow) -> str:
    return _SERIALIZER.serialize_json(workflow)


def loads(state: str) -> BpmnWorkflow:
    return _SERIALIZER.deserialize_json(state)
