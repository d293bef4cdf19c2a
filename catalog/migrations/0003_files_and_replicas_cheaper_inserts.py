"""Files and replicas cheaper to insert (every finished job writes some): no index that no query uses.

- A file's lfn is unique by a constraint, without the LIKE (varchar_pattern_ops) index of `unique=True`:
  files are looked up by equal lfns only.
- A replica's file and endpoint lose their own indexes: the (file, endpoint) constraint and the
  (endpoint, state) index lead with them and serve every query (and Django's cascades) on either.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_dataset_name_trigram"),
    ]

    operations = [
        migrations.AlterField(
            model_name="file",
            name="lfn",
            field=models.CharField(max_length=255, verbose_name="logical file name"),
        ),
        migrations.AlterField(
            model_name="replica",
            name="endpoint",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="replicas",
                to="catalog.storageendpoint",
            ),
        ),
        migrations.AlterField(
            model_name="replica",
            name="file",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="replicas", to="catalog.file"
            ),
        ),
        migrations.AddConstraint(
            model_name="file",
            constraint=models.UniqueConstraint(fields=("lfn",), name="file_lfn_unique"),
        ),
    ]
