"""OTLP/gRPC listener (port 4317 by default) sharing the HTTP ingest path.

``Export`` is registered with no request deserializer: the handler gets the serialized
``ExportTraceServiceRequest`` and hands it to the same decode as an OTLP/HTTP protobuf body
(the native wire decoder, size limit, decode pool). Overload maps to UNAVAILABLE (the OTel
exporters retry it), bad payloads to INVALID_ARGUMENT, partial rejections to
``partial_success`` as over HTTP. An `Authorizer` (the server's API-key check) sees the
``authorization`` metadata first: UNAUTHENTICATED for no or a wrong key, PERMISSION_DENIED
for a key without the ``ingest`` scope or for spans of another project.

Request bytes count against the same `ByteBudget` as OTLP/HTTP bodies. ``Export`` is
registered as client-streaming (a unary call's bytes on the wire are the same), so the handler
runs before the message is read: it takes a provisional 4 MiB from the budget, or refuses the
call unread with UNAVAILABLE and a ``google.rpc.RetryInfo`` (the OTLP/gRPC throttling
signal); once read, the reservation is trued up to the message's size. The port is bound
without ``SO_REUSEPORT`` (grpc turns it on by default), so a second server on the same port
fails to start instead of silently splitting the exports with the first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from llmpulse.domain.errors import Forbidden, InvalidInput, LlmpulseError, Overloaded, PortInUse
from llmpulse.ingest.admission import ByteBudget
from llmpulse.ingest.responses import partial_success_message

if TYPE_CHECKING:
    from llmpulse.ingest.service import IngestService

log = logging.getLogger(__name__)

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"
PROTOBUF = "application/x-protobuf"
# Taken from the byte budget before a call's message is read (its size is not known yet),
# then trued up to the message's size: most exports are far smaller (OTel batches of 512).
PROVISIONAL_BYTES = 4 * 1024 * 1024

Authorizer = Callable[[str | None], tuple[int, str, str | None]]
"""Given the ``authorization`` metadata: (200, 401 or 403, a message, the key's project)."""


def _open(_authorization: str | None) -> tuple[int, str, str | None]:
    return 200, "", None


class _TraceService:
    def __init__(
        self,
        ingest: IngestService,
        budget: ByteBudget,
        max_message_bytes: int,
        authorize: Authorizer,
    ) -> None:
        self._ingest = ingest
        self._authorize = authorize
        self._budget = budget
        self._provisional = min(PROVISIONAL_BYTES, max_message_bytes)

    def handler(self) -> grpc.GenericRpcHandler:
        # Registered as client-streaming (the same bytes on the wire as a unary call) so that
        # the handler runs before the message is read and can refuse it unread.
        export = grpc.stream_unary_rpc_method_handler(
            self.export,
            request_deserializer=None,  # the body as bytes, decoded like OTLP/HTTP protobuf
            response_serializer=trace_service_pb2.ExportTraceServiceResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Export": export})

    async def export(
        self, requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, object]
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        header_project, only_project = await self._check_access(context)
        held = self._provisional
        if not self._budget.try_reserve(held):
            await self._refuse(context)
        try:
            body = await _one_message(requests, context)
            if len(body) > held and not self._budget.try_reserve(len(body) - held):
                await self._refuse(context)
            self._budget.release(held - len(body))
            held = len(body)
            accepted = await self._ingest.accept_otlp(
                body, PROTOBUF, None, header_project, only_project
            )
        except Forbidden as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, exc.detail)
        except Overloaded as exc:
            await _abort_retry_later(context, exc.detail, exc.retry_after_s)
        except InvalidInput as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, exc.detail)
        except LlmpulseError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.detail)
        finally:
            self._budget.release(held)
        response = trace_service_pb2.ExportTraceServiceResponse()
        if accepted.rejections:
            response.partial_success.rejected_spans = len(accepted.rejections)
            response.partial_success.error_message = partial_success_message(accepted.rejections)
        return response

    async def _check_access(
        self, context: grpc.aio.ServicerContext[bytes, object]
    ) -> tuple[str | None, str | None]:
        """The ``x-project-name`` header and the key's project; aborts a refused call."""
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
        return header_project, only_project

    async def _refuse(self, context: grpc.aio.ServicerContext[bytes, object]) -> None:
        await _abort_retry_later(
            context,
            f"{self._budget.in_flight} request bytes in flight, over the "
            f"{self._budget.limit}-byte bound (LLMPULSE_MAX_INFLIGHT_BYTES)",
            self._budget.retry_after_s(),
        )


async def _one_message(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, object]
) -> bytes:
    """The call's single request message (Export is unary on the client's side)."""
    async for message in requests:
        return message
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "no ExportTraceServiceRequest sent")
    raise AssertionError("unreachable")  # abort raises


async def _abort_retry_later(
    context: grpc.aio.ServicerContext[bytes, object], detail: str, retry_after_s: int
) -> None:
    """UNAVAILABLE with RetryInfo in ``grpc-status-details-bin`` (how OTLP/gRPC throttles)."""
    info = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s))
    status = status_pb2.Status(code=grpc.StatusCode.UNAVAILABLE.value[0], message=detail)
    status.details.add().Pack(info)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    await context.abort(grpc.StatusCode.UNAVAILABLE, detail)


class GrpcListener:
    """A `Service` running the OTLP/gRPC TraceService on one port."""

    def __init__(
        self,
        ingest: IngestService,
        host: str,
        port: int,
        *,
        max_message_bytes: int = 0,
        budget: ByteBudget | None = None,
        authorize: Authorizer = _open,
    ) -> None:
        self._ingest = ingest
        self._authorize = authorize
        self._budget = budget or ByteBudget(ingest.max_body_bytes * 4)
        self._address = f"{host}:{port}"
        self._max = max_message_bytes or ingest.max_body_bytes
        self._server: grpc.aio.Server | None = None
        self.port = port

    async def start(self) -> None:
        """Bind and start serving.

        Raises:
            PortInUse: another process listens on the port.
        """
        self._server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", self._max),
                ("grpc.so_reuseport", 0),
                # BDP probing grows each connection's HTTP/2 window to megabytes, and grpc
                # buffers that much per connection before any handler runs: 150 connections
                # sending 2.6 MB exports took ~470 MiB with it, ~230 MiB without.
                ("grpc.http2.bdp_probe", 0),
            ]
        )
        self._server.add_generic_rpc_handlers(
            (_TraceService(self._ingest, self._budget, self._max, self._authorize).handler(),)
        )
        try:
            self.port = self._server.add_insecure_port(self._address)
        except RuntimeError as exc:
            raise PortInUse(
                f"OTLP/gRPC port {self.port} on {self._address.rsplit(':', 1)[0]} is already in "
                "use; choose another with --grpc-port (LLMPULSE_GRPC_PORT), or 0 to turn gRPC off"
            ) from exc
        await self._server.start()
        log.info("OTLP/gRPC listening on %s", self._address)

    async def stop(self) -> None:
        """Stop accepting calls; let running ones finish for up to 5 s."""
        if self._server is not None:
            await self._server.stop(grace=5)
