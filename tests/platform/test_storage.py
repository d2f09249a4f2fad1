"""StorageClasses rendered from each backend's storage specs."""

from __future__ import annotations

import pytest

from tests.platform import harness

DEFAULT = "storageclass.kubernetes.io/is-default-class"


@pytest.fixture(scope="module", params=["aws", "gcp", "azure"])
def cloud_result(request):
    shape = {"aws": harness.eks_shape, "gcp": harness.gke_shape, "azure": harness.aks_shape}[request.param]()
    return shape, harness.run_platform(shape)


def test_default_block_class_waits_for_first_consumer_and_expands(cloud_result):
    shape, result = cloud_result
    block = result.object("StorageClass", "ml-block")
    assert block["provisioner"] == shape.block.provisioner
    assert block["parameters"] == dict(shape.block.parameters)
    assert block["reclaimPolicy"] == "Delete"
    assert block["volumeBindingMode"] == "WaitForFirstConsumer"
    assert block["allowVolumeExpansion"] is True
    assert block["metadata"]["annotations"][DEFAULT] == "true"
    assert block["metadata"]["annotations"]["ml-clusters.io/encrypted"] == "true"


def test_retain_variant_keeps_volumes_and_is_not_default(cloud_result):
    shape, result = cloud_result
    retain = result.object("StorageClass", "ml-block-retain")
    assert retain["reclaimPolicy"] == "Retain"
    assert retain["provisioner"] == shape.block.provisioner
    assert retain["parameters"] == dict(shape.block.parameters)
    assert retain["volumeBindingMode"] == "WaitForFirstConsumer"
    assert retain["metadata"]["annotations"][DEFAULT] == "false"


def test_exactly_one_default_class(cloud_result):
    _, result = cloud_result
    defaults = [o for o in result.objects("StorageClass") if o["metadata"]["annotations"][DEFAULT] == "true"]
    assert [o["metadata"]["name"] for o in defaults] == ["ml-block"]


def test_shared_file_system_class(cloud_result):
    shape, result = cloud_result
    shared = result.object("StorageClass", "ml-shared")
    assert shared["provisioner"] == shape.files.provisioner
    assert shared["parameters"] == dict(shape.files.parameters)
    assert shared["reclaimPolicy"] == "Retain"
    assert shared["volumeBindingMode"] == "Immediate"
    assert shared["metadata"]["annotations"]["ml-clusters.io/access-mode"] == "ReadWriteMany"
    assert shared["metadata"]["annotations"][DEFAULT] == "false"


def test_cloud_specific_parameters_pass_through():
    eks = harness.run_platform(harness.eks_shape())
    assert eks.object("StorageClass", "ml-block")["parameters"] == {"csi.storage.k8s.io/fstype": "ext4", "encrypted": "true", "type": "gp3"}
    # The EFS id arrives as an Output of the backend's file system and is resolved.
    assert eks.object("StorageClass", "ml-shared")["parameters"]["fileSystemId"] == "fs-0123456789abcdef0"
    aks = harness.run_platform(harness.aks_shape())
    assert aks.object("StorageClass", "ml-shared")["parameters"] == {"protocol": "nfs", "skuName": "Premium_LRS"}


def test_no_shared_class_when_turned_off():
    result = harness.run_platform(harness.eks_shape(), {"sharedFileSystem": False})
    assert {o["metadata"]["name"] for o in result.objects("StorageClass")} == {"ml-block", "ml-block-retain"}


def test_no_shared_class_when_the_backend_has_none():
    shape = harness.eks_shape()
    shape.files = None
    result = harness.run_platform(shape)
    assert {o["metadata"]["name"] for o in result.objects("StorageClass")} == {"ml-block", "ml-block-retain"}


def test_unencrypted_backend_storage_is_labelled_so():
    shape = harness.eks_shape()
    shape.block = harness.StorageClassSpec("rancher.io/local-path", encrypted=False)
    result = harness.run_platform(shape)
    block = result.object("StorageClass", "ml-block")
    assert block["metadata"]["annotations"]["ml-clusters.io/encrypted"] == "false"
    assert "parameters" not in block
