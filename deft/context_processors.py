from . import permissions


def roles(request):
    """The signed-in user's roles, so templates show only the buttons the user may press."""
    return {"roles": permissions.roles_of(request.user)}
