"""A stock gRPC client against a Sable node: Google's grpcio (the C core behind the
Python, C++, Ruby and PHP clients), nothing of Sable's.

Run by node/tests/stock_grpcio.rs with the venv of scripts/grpcio-venv.sh. Connects
over mutual TLS with a dev-PKI participant certificate, then: gRPC health (SERVING),
server reflection (the Sable services), and real calls whose messages are built
from the descriptors reflection returned (no generated code): Chain.GetStatus,
Chain.GetBlock, and Admin.ListParticipants, which a bank is refused.
Prints one JSON object; exit status 0 on success, 3 when the TLS handshake never
completes, 1 on any other failure.
"""

import argparse
import json
import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SABLE_SERVICES = {"sable.v1.Chain", "sable.v1.Transactions", "sable.v1.Admin"}


def unary(channel, pool, service, method, request_fields):
    """Calls `service/method` with messages built from reflected descriptors."""
    m = pool.FindServiceByName(service).FindMethodByName(method)
    request_type = message_factory.GetMessageClass(m.input_type)
    response_type = message_factory.GetMessageClass(m.output_type)
    call = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )
    return call(request_type(**request_fields), timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--server-name", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--block-height", type=int, default=0)
    ap.add_argument("--connect-timeout", type=float, default=15.0)
    args = ap.parse_args()

    def read(path):
        with open(path, "rb") as f:
            return f.read()

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(args.ca),
        private_key=read(args.key),
        certificate_chain=read(args.cert),
    )
    # The node's certificate names it validator-N.sable.local; we dial an address.
    options = [("grpc.ssl_target_name_override", args.server_name)]
    out = {"grpcio": grpc.__version__}
    with grpc.secure_channel(args.addr, credentials, options) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=args.connect_timeout)
        except grpc.FutureTimeoutError:
            out["error"] = "the TLS handshake did not complete"
            print(json.dumps(out))
            return 3

        health = health_pb2_grpc.HealthStub(channel)
        out["health"] = {}
        for service in ["", "sable.v1.Chain"]:
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            out["health"][service] = health_pb2.HealthCheckResponse.ServingStatus.Name(
                reply.status
            )

        reflection = ProtoReflectionDescriptorDatabase(channel)
        out["services"] = sorted(reflection.get_services())
        missing = SABLE_SERVICES - set(out["services"])
        if missing:
            out["error"] = f"reflection does not list {sorted(missing)}"
            print(json.dumps(out))
            return 1
        pool = descriptor_pool.DescriptorPool(reflection)

        status = unary(channel, pool, "sable.v1.Chain", "GetStatus", {})
        out["status"] = {
            "node_id": status.node_id,
            "height": status.height,
            "validators": status.validators,
            "chain_id": status.chain_id.hex(),
        }
        block = unary(
            channel, pool, "sable.v1.Chain", "GetBlock", {"height": args.block_height}
        )
        out["block"] = {"height": block.header.height, "hash": block.header.hash.hex()}
        try:
            unary(channel, pool, "sable.v1.Admin", "ListParticipants", {})
            out["admin"] = "OK"
        except grpc.RpcError as e:
            out["admin"] = e.code().name
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print(json.dumps({"error": f"{e.code().name}: {e.details()}"}))
        sys.exit(1)
