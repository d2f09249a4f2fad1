"""examples/tpu/jax-jobset.yaml: a multi-host JAX job on staging-gcp's TPU v5e slice, as a
JobSet through Kueue. Strictly valid (JobSet fields at v0.12.0, the Job templates against
Kubernetes' own schema), shaped by the catalog's slice, admitted by the team's queue and
clean under the policy pack.

Upstream facts relied on:
- GKE sets TPU_WORKER_ID and TPU_WORKER_HOSTNAMES with a mutating webhook in pods of a Job
  with completionMode Indexed, a subdomain, parallelism > 1 and google.com/tpu requests
  ("Deploy TPU workloads in GKE Standard"); JobSet v0.12.0 gives its pods the JobSet name as
  subdomain when network.enableDNSHostnames is true (api/jobset/v1alpha2/jobset_types.go).
- JobSet's alpha.jobset.sigs.k8s.io/exclusive-topology annotation puts each child Job on a
  topology domain of its own, here one node pool = one slice (kubernetes-sigs/jobset
  examples/simple/exclusive-placement.yaml).
- Kueue v0.19.2 manages JobSets (integrations.frameworks jobset.x-k8s.io/jobset) and admits
  the whole JobSet as one workload.
"""

from __future__ import annotations

import copy

import pytest

from components.catalog import tpus
from components.platform.workloads import queueing
from policies import offline
from tests.conftest import plan_for_stack
from tests.examples.test_examples import _resource, _team_namespaces, load
from tests.platform.workloads import crds
from tests.platform.workloads.helpers import objects
from tests.workflows.test_team_walkthrough import passes_restricted, tolerated

EXAMPLE = "tpu/jax-jobset.yaml"


@pytest.fixture(scope="module")
def staging():
    return plan_for_stack("staging-gcp")


def pod_spec(job):
    (rjob,) = job["spec"]["replicatedJobs"]
    return rjob, rjob["template"]["spec"], rjob["template"]["spec"]["template"]["spec"]


def test_the_jobset_is_valid_and_the_validator_would_catch_a_misspelt_field():
    job = load(EXAMPLE)
    assert crds.errors(job) == []
    bad = copy.deepcopy(job)
    bad["spec"]["replicatedJobs"][0]["replica"] = 1
    assert crds.errors(bad) == ["spec.replicatedJobs[0]: unknown field 'replica'"]
    bad = copy.deepcopy(job)
    bad["spec"]["replicatedJobs"][0]["template"]["spec"]["parallelizm"] = 4
    assert any("parallelizm" in e for e in crds.errors(bad))


def test_one_pod_per_tpu_vm_asking_for_all_its_chips_on_the_slice_the_flavor_selects(staging):
    job = load(EXAMPLE)
    rjob, spec, pod = pod_spec(job)
    selector = pod["nodeSelector"]
    # The staging-gcp pool the example is for: its flavor selects exactly these GKE labels.
    flavor = objects(staging, "ResourceFlavor")[queueing.tpu_flavor_name("v5e")][1]
    assert {k: v for k, v in flavor["spec"]["nodeLabels"].items() if k.startswith("cloud.google.com/")} == selector
    generation = next(g for g in tpus.TPU_GENERATIONS.values() if g.accelerator == selector[tpus.GKE_TPU_ACCELERATOR_LABEL])
    tslice = tpus.tpu_slice(generation.key, selector[tpus.GKE_TPU_TOPOLOGY_LABEL])
    assert tslice.multi_host
    # One worker per VM of the slice, all at once, each taking the VM's chips.
    assert spec["parallelism"] == spec["completions"] == tslice.nodes
    (container,) = pod["containers"]
    resources = container["resources"]
    assert resources["requests"][tpus.TPU_RESOURCE] == resources["limits"][tpus.TPU_RESOURCE] == tslice.chips_per_vm
    assert tslice.nodes * tslice.chips_per_vm == tslice.chips
    # What makes GKE inject TPU_WORKER_ID / TPU_WORKER_HOSTNAMES: Indexed, a subdomain
    # (JobSet's DNS hostnames), parallelism > 1, google.com/tpu requests.
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] > 1
    assert job["spec"]["network"]["enableDNSHostnames"] is True
    assert "jax.distributed.initialize()" in container["command"][-1]
    # One slice per child Job.
    assert rjob["replicas"] == 1
    assert job["metadata"]["annotations"] == {"alpha.jobset.sigs.k8s.io/exclusive-topology": "cloud.google.com/gke-nodepool"}


def test_the_team_queue_can_admit_the_whole_slice(staging):
    job = load(EXAMPLE)
    assert job["metadata"]["labels"] == {queueing.QUEUE_LABEL: queueing.LOCAL_QUEUE}
    assert "namespace" not in job["metadata"]
    _, spec, pod = pod_spec(job)
    chips = spec["parallelism"] * pod["containers"][0]["resources"]["requests"][tpus.TPU_RESOURCE]
    for team, (_, cq) in objects(staging, "ClusterQueue").items():
        (group,) = [g for g in cq["spec"]["resourceGroups"] if tpus.TPU_RESOURCE in g["coveredResources"]]
        quota = {f["name"]: f["resources"][0] for f in group["flavors"]}["tpu-v5e"]
        # Own chips or borrowed ones: either way the 16 chips fit the team's reach.
        assert int(quota["nominalQuota"]) + int(quota["borrowingLimit"]) >= chips, team
    # The priority class it names is one the platform creates (queued batch work).
    assert pod["priorityClassName"] in objects(staging, "PriorityClass")
    # ... and the namespace quota of the team running it lets the pods start.
    hard = objects(staging, "ResourceQuota")["experiments/compute"][1]["spec"]["hard"]
    assert int(hard[f"requests.{tpus.TPU_RESOURCE}"]) >= chips


def test_the_jobset_passes_the_policy_pack_in_a_team_namespace():
    violations = offline.evaluate([*_team_namespaces(), _resource(load(EXAMPLE), 0)], "prod")
    assert [v for v in violations if "example-0" in v.urn] == []


def test_the_pods_meet_restricted_pod_security_and_kueue_makes_them_tolerate_the_tpu_taint(staging):
    """Team namespaces enforce `restricted` (GKE runs TPU containers unprivileged from 1.28:
    "Deploy TPU workloads in GKE Standard"); the pods carry no toleration of their own, the
    TPU flavor's is what Kueue adds on admission."""
    _, _, pod = pod_spec(load(EXAMPLE))
    assert passes_restricted(pod, pod["containers"])
    assert "tolerations" not in pod
    flavor = objects(staging, "ResourceFlavor")[queueing.tpu_flavor_name("v5e")][1]
    (taint,) = flavor["spec"]["nodeTaints"]
    assert tolerated(taint, flavor["spec"]["tolerations"])
    assert not tolerated(taint, [])


def test_the_pack_would_flag_the_jobset_without_its_queue_label():
    job = load(EXAMPLE)
    del job["metadata"]["labels"][queueing.QUEUE_LABEL]
    violations = offline.evaluate([*_team_namespaces(), _resource(job, 0)], "prod")
    assert [(v.policy, v.level) for v in violations if "example-0" in v.urn] == [("workloads-gpu-jobs-queued", "advisory")]
