"""OTLP/gRPC listener (port 4317 by default) sharing the HTTP ingest path.

``Export`` is registered with no request deserializer: the handler gets the serialized
``ExportTraceServiceRequest`` and hands it to the same decode as an OTLP/HTTP protobuf body
(the native wire decoder, size limit, decode pool). Overload maps to UNAVAILABLE (the OTel
exporters retry it), bad payloads to INVALID_ARGUMENT, partial rejections to
``partial_success`` as over HTTP. An `Authorizer` (the server's API-key check) sees the
``authorization`` metadata first: UNAUTHENTICATED for no or a wrong key, PERMISSION_DENIED
for a key without the ``ingest`` scope or for spans of another project.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from llmpulse.domain.errors import Forbidden, InvalidInput, LlmpulseError, Overloaded
from llmpulse.ingest.responses import partial_success_message

if TYPE_CHECKING:
    from llmpulse.ingest.service import IngestService

log = logging.getLogger(__name__)

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
PROTOBUF = "application/x-protobuf"

Authorizer = Callable[[str | None], tuple[int, str, str | None]]
"""Given the ``authorization`` metadata: (200, 401 or 403, a message, the key's project)."""


def _open(_authorization: str | None) -> tuple[int, str, str | None]:
    return 200, "", None


class _TraceService:
    def __init__(self, ingest: IngestService, authorize: Authorizer) -> None:
        self._ingest = ingest
        self._authorize = authorize

    def handler(self) -> grpc.GenericRpcHandler:
        export = grpc.unary_unary_rpc_method_handler(
            self.export,
            request_deserializer=None,  # the body as bytes, decoded like OTLP/HTTP protobuf
            response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Export": export})

    async def export(
        self, body: bytes, context: grpc.aio.ServicerContext[bytes, object]
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        header_project = authorization = None
        for key, value in context.invocation_metadata() or ():
            if key == "x-project-name":
                header_project = str(value)
            elif key == "authorization":
                authorization = str(value)
        status, message, only_project = self._authorize(authorization)
        if status == 401:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        elif status != 200:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)
        try:
            accepted = await self._ingest.accept_otlp(
                body, PROTOBUF, None, header_project, only_project
            )
        except Forbidden as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, exc.detail)
        except Overloaded as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.detail)
        except InvalidInput as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.detail)
        except LlmpulseError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.detail)
        response = trace_service_pb2.ExportTraceServiceResponse()
        if accepted.rejections:
            response.partial_success.rejected_spans = len(accepted.rejections)
            response.partial_success.error_message = partial_success_message(accepted.rejections)
        return response


class GrpcListener:
    """A `Service` running the OTLP/gRPC TraceService on one port."""

    def __init__(
        self,
        ingest: IngestService,
        host: str,
        port: int,
        *,
        max_message_bytes: int = 0,
        authorize: Authorizer = _open,
    ) -> None:
        self._ingest = ingest
        self._authorize = authorize
        self._address = f"{host}:{port}"
        self._max = max_message_bytes or ingest.max_body_bytes
        self._server: grpc.aio.Server | None = None
        self.port = port

    async def start(self) -> None:
        """Bind and start serving."""
        self._server = grpc.aio.server(options=[("grpc.max_receive_message_length", self._max)])
        self._server.add_generic_rpc_handlers(
            (_TraceService(self._ingest, self._authorize).handler(),)
        )
        self.port = self._server.add_insecure_port(self._address)
        await self._server.start()
        log.info("OTLP/gRPC listening on %s", self._address)

    async def stop(self) -> None:
        """Stop accepting calls; let running ones finish for up to 5 s."""
        if self._server is not None:
            await self._server.stop(grace=5)
