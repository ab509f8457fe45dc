"""The transport ceiling: a nameko service whose RPC returns its argument."""
from nameko.rpc import rpc


class EchoService:
    name = "echo"

    @rpc
    def echo(self, request):
        return request
