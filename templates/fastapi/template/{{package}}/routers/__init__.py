"""One APIRouter per area of the API; main.py includes them."""
