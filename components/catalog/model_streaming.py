"""Streaming model weights from the model store into the GPU: vLLM's Run:ai Model Streamer
loader, per cloud the URI scheme it reads and the credential chain it finds the namespace's
workload identity through. Data with sources; the platform reads it through the handle's
ModelStore (components/clouds/<cloud>/stores.py), the preview through timings.py.

What the pinned image ships (kserve-vllm, vllm/vllm-openai:v0.24.0, components/catalog/versions.py):
- vLLM 0.24.0 (PyPI wheel vllm-0.24.0-cp38-abi3-manylinux_2_28_x86_64, commit ee0da84ab):
  `vllm/model_executor/model_loader/runai_streamer_loader.py` (`--load-format runai_streamer`,
  `--model-loader-extra-config` keys distributed, concurrency, memory_limit) and
  `vllm/transformers_utils/runai_utils.py` (SUPPORTED_SCHEMES s3://, gs://, az://);
  `vllm/config/model.py` pulls the config and tokenizer files of an object-store model first,
  `vllm/config/vllm.py` picks runai_streamer itself for such a model. The wheel's `runai`
  extra is `runai-model-streamer[azure,gcs,s3]>=0.15.7`, and vLLM's docker/Dockerfile installs
  the same three backends into the vllm-openai image (ARG RUNAI_MODEL_STREAMER_VERSION
  ">=0.15.7", docker/versions.json).
- run-ai/runai-model-streamer 0.15.7 (the floor; read again at 0.15.9, the same):
  cpp/s3/client/client.cc builds an S3CrtClient with no credentials given, i.e. the AWS SDK
  for C++ default chain (built against aws-sdk-cpp 1.11.584, .devcontainer/Dockerfile), whose
  container credential provider is how EKS Pod Identity works (AWS EKS user guide,
  "Use pod identity with the AWS SDK": C++ SDK 1.11.263 or later);
  cpp/gcs/client_configuration/client_configuration.cc uses google-cloud-cpp's default
  credentials unless RUNAI_STREAMER_GCS_CREDENTIAL_FILE is set, i.e. the GKE metadata
  server's token for the Google service account the Kubernetes one is bound to (GKE docs,
  "Accelerate model loading on GKE with Run:ai Model Streamer and vLLM");
  cpp/azure/client/client.cc uses DefaultAzureCredential on
  https://<AZURE_STORAGE_ACCOUNT_NAME>.blob.core.windows.net (az://<container>/<path>), and
  the Azure SDK for C++'s DefaultAzureCredential chain holds WorkloadIdentityCredential
  (Azure/azure-sdk-for-cpp sdk/identity/azure-identity/src/default_azure_credential.cpp),
  which reads what the AKS workload identity webhook injects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# The ClusterServingRuntime the platform adds beside KServe's own (components/platform/
# workloads/model_streaming.py), and the argument that makes vLLM stream.
RUNTIME = "kserve-vllm-streamer"
LOAD_FORMAT_ARG = "--load-format=runai_streamer"
# Readers per process: docs/src/benchmarks.md @ 0.15.7 (Appendix C, S3) is fastest at 32 (4.88 s
# for 15 GB; 8.45 s at 16); docs/src/env-vars.md: the object-store default is 8.
CONCURRENCY = 32
CONCURRENCY_ENV = "RUNAI_STREAMER_CONCURRENCY"
# The namespace's ConfigMap `model-store` key holding the store as the streamer reads it.
STREAM_URL_KEY = "MODEL_STREAM_URL"


@dataclass(frozen=True)
class StoreScheme:
    scheme: str  # what the model's URI starts with
    credentials: str  # how the streamer finds the namespace's identity, and the source
    # Environment the streamer needs beside the identity (names only; values from the store).
    env: tuple[str, ...] = field(default_factory=tuple)


SCHEMES: Mapping[str, StoreScheme] = {
    # The bucket's region too: the S3 client is given none, and the AWS SDK for C++ takes it from
    # AWS_DEFAULT_REGION, AWS_REGION, the profile, then the instance metadata, else us-east-1
    # (aws/aws-sdk-cpp src/aws-cpp-sdk-core/source/client/ClientConfiguration.cpp).
    "aws": StoreScheme("s3", "AWS SDK for C++ default chain, container credentials (EKS Pod Identity); "
                             "runai-model-streamer 0.15.7 cpp/s3/client/client.cc", ("AWS_REGION",)),
    "gcp": StoreScheme("gs", "google-cloud-cpp default credentials, the GKE metadata server (Workload Identity); "
                             "runai-model-streamer 0.15.7 cpp/gcs/client_configuration/client_configuration.cc"),
    "azure": StoreScheme("az", "DefaultAzureCredential, its WorkloadIdentityCredential (AKS workload identity); "
                               "runai-model-streamer 0.15.7 cpp/azure/client/client.cc",
                         ("AZURE_STORAGE_ACCOUNT_NAME",)),
}
# Clouds whose stack creates no model store: nothing to stream from (components/clouds/existing/stores.py).
NO_STORE = {"existing": "an existing cluster gets no model store from this program"}
