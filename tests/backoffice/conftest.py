from tests.backoffice.fixtures import (  # noqa: F401
    fast_passwords,
    no_axes_lockouts,
    operator_client,
    other_world,
    owner_client,
    payment,
    viewer_client,
    world,
)
